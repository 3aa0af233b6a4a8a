/*
 * schema.c — the numbered migrations. A released migration is never edited:
 * a change to the schema is a new entry at the end of the list.
 */
#include "riserva.h"

/* 1: clients, staff and their hours, services, appointments, calendar
 * blocks, the consent ledger, the audit trail. */
static const char m1[] =
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"

    "CREATE TABLE client ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  surname TEXT NOT NULL,"
    "  email TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    "  phone TEXT NOT NULL,"
    "  birth TEXT,"
    "  locale TEXT NOT NULL DEFAULT 'it' CHECK (locale IN ('it', 'en')),"
    "  notes TEXT,"
    "  restricted INTEGER NOT NULL DEFAULT 0,"
    "  restricted_at INTEGER,"
    "  restricted_reason TEXT,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"
    "CREATE INDEX client_surname ON client (surname COLLATE NOCASE);"

    "CREATE TABLE staff ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  email TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    "  role TEXT NOT NULL DEFAULT 'operator'"
    "    CHECK (role IN ('admin', 'reception', 'operator')),"
    "  active INTEGER NOT NULL DEFAULT 1,"
    "  created INTEGER NOT NULL"
    ");"

    /* Weekly hours as local wall-clock minutes: 09:00 stays 09:00
     * across a DST change. dow 1 = Monday. */
    "CREATE TABLE staff_hours ("
    "  staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,"
    "  dow INTEGER NOT NULL CHECK (dow BETWEEN 1 AND 7),"
    "  start_min INTEGER NOT NULL,"
    "  end_min INTEGER NOT NULL,"
    "  CHECK (0 <= start_min AND start_min < end_min AND end_min <= 1440),"
    "  PRIMARY KEY (staff_id, dow, start_min)"
    ") WITHOUT ROWID;"

    "CREATE TABLE staff_off ("
    "  id INTEGER PRIMARY KEY,"
    "  staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,"
    "  start INTEGER NOT NULL,"
    "  end INTEGER NOT NULL CHECK (start < end),"
    "  reason TEXT,"
    "  created INTEGER NOT NULL"
    ");"
    "CREATE INDEX staff_off_end ON staff_off (staff_id, end);"

    "CREATE TABLE service ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    "  duration INTEGER NOT NULL CHECK (duration BETWEEN 1 AND 720),"
    "  buffer INTEGER NOT NULL DEFAULT 0 CHECK (buffer BETWEEN 0 AND 240),"
    "  price INTEGER CHECK (price >= 0),"
    "  retired INTEGER,"
    "  created INTEGER NOT NULL"
    ");"

    "CREATE TABLE staff_service ("
    "  staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,"
    "  service_id INTEGER NOT NULL REFERENCES service (id),"
    "  PRIMARY KEY (staff_id, service_id)"
    ") WITHOUT ROWID;"

    /* busy_end = end + the service's buffer when booked. No appointment
     * spans more than a day, so the overlap check can bound its index
     * range to [start - 1 day, end). client_id is NULL once erased. */
    "CREATE TABLE appointment ("
    "  id INTEGER PRIMARY KEY,"
    "  client_id INTEGER REFERENCES client (id),"
    "  staff_id INTEGER NOT NULL REFERENCES staff (id),"
    "  service_id INTEGER NOT NULL REFERENCES service (id),"
    "  start INTEGER NOT NULL,"
    "  end INTEGER NOT NULL,"
    "  busy_end INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'booked'"
    "    CHECK (status IN ('booked', 'done', 'cancelled', 'needs_review')),"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  notes TEXT,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  cancelled INTEGER,"
    "  cancel_reason TEXT,"
    "  CHECK (start < end AND end <= busy_end AND busy_end - start <= 86400)"
    ");"
    "CREATE INDEX appointment_staff ON appointment (staff_id, start);"
    "CREATE INDEX appointment_client ON appointment (client_id, start);"
    "CREATE INDEX appointment_start ON appointment (start);"

    /* Calendar blocks: manual ones, and (later) ones imported from
     * Google. busy = 0 for free time (transparent or declined). */
    "CREATE TABLE event ("
    "  id INTEGER PRIMARY KEY,"
    "  staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,"
    "  start INTEGER NOT NULL,"
    "  end INTEGER NOT NULL CHECK (start < end),"
    "  source TEXT NOT NULL CHECK (source IN ('manual', 'booking', 'google')),"
    "  title TEXT,"
    "  busy INTEGER NOT NULL DEFAULT 1,"
    "  appointment_id INTEGER REFERENCES appointment (id),"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"
    "CREATE INDEX event_staff_end ON event (staff_id, end);"

    /* The consent ledger: append-only; a purpose's state is its last row. */
    "CREATE TABLE consent ("
    "  id INTEGER PRIMARY KEY,"
    "  client_id INTEGER REFERENCES client (id),"
    "  purpose TEXT NOT NULL"
    "    CHECK (purpose IN ('reminders', 'health', 'marketing')),"
    "  action TEXT NOT NULL CHECK (action IN ('grant', 'withdraw')),"
    "  at INTEGER NOT NULL,"
    "  method TEXT NOT NULL,"
    "  policy_version TEXT,"
    "  actor TEXT NOT NULL,"
    "  evidence TEXT,"
    "  ip TEXT"
    ");"
    "CREATE INDEX consent_client ON consent (client_id, purpose, id);"

    /* The audit trail names fields, never values. No foreign key: the
     * trail outlives what it talks about. */
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  tool TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  client_id INTEGER,"
    "  ref TEXT,"
    "  fields TEXT,"
    "  reason TEXT,"
    "  mac BLOB"
    ");"
    "CREATE INDEX audit_client ON audit (client_id) WHERE client_id IS NOT NULL;"
    "CREATE INDEX audit_at ON audit (at);";

/* 3: the message outbox and log: confirmations, change and cancel notices,
 * reminders (one per appointment version and lead), legal notices (one per
 * client, kind and ref). next_at is when a queued message is due or when a
 * claim on a message being sent lapses; claim names the process sending it.
 * client_id is set to NULL when a client row goes (an erasure). */
static const char m3[] =
    "CREATE TABLE message ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'change',"
    "    'cancellation', 'reminder', 'policy', 'breach', 'marketing')),"
    "  client_id INTEGER REFERENCES client (id) ON DELETE SET NULL,"
    "  appointment_id INTEGER REFERENCES appointment (id) ON DELETE CASCADE,"
    "  version INTEGER,"
    "  lead INTEGER NOT NULL DEFAULT 0,"
    "  ref TEXT NOT NULL DEFAULT '',"
    "  data TEXT,"
    "  recipient TEXT,"
    "  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued',"
    "    'sending', 'sent', 'failed', 'skipped')),"
    "  reason TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL,"
    "  claim TEXT,"
    "  message_id TEXT,"
    "  provider_id TEXT,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  sent INTEGER,"
    "  CHECK ((appointment_id IS NULL) = (version IS NULL))"
    ");"
    "CREATE UNIQUE INDEX message_appointment"
    "  ON message (appointment_id, kind, version, lead)"
    "  WHERE appointment_id IS NOT NULL;"
    "CREATE UNIQUE INDEX message_notice ON message (client_id, kind, ref)"
    "  WHERE appointment_id IS NULL;"
    "CREATE INDEX message_due ON message (next_at)"
    "  WHERE status IN ('queued', 'sending');"
    "CREATE INDEX message_client ON message (client_id);";

const struct db_migration db_migrations[] = {
	{ 1, m1 },
	{ 3, m3 },
};
const size_t db_nmigrations = sizeof(db_migrations) / sizeof(db_migrations[0]);
