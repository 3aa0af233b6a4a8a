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
    /* Rows are appended in time order, so ids stand in for a time
     * index; each index costs every change a B-tree insert. */
    "CREATE INDEX audit_client ON audit (client_id) WHERE client_id IS NOT NULL;";

/* 5: accountability — staff credentials and sessions, the anchors that keep
 * the audit chain verifiable after a purge, the data-breach register. */
static const char m5[] =
    /* One password per staff member: PBKDF2-SHA256 with its salt and the
     * iteration count it was made with, so the count can be raised later.
     * failed/failed_at pace and lock repeated wrong passwords. */
    "CREATE TABLE staff_auth ("
    "  staff_id INTEGER PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,"
    "  algo TEXT NOT NULL CHECK (algo = 'pbkdf2-sha256'),"
    "  iterations INTEGER NOT NULL CHECK (iterations > 0),"
    "  salt BLOB NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  set_at INTEGER NOT NULL,"
    "  failed INTEGER NOT NULL DEFAULT 0,"
    "  failed_at INTEGER,"
    "  locked INTEGER NOT NULL DEFAULT 0"
    ");"

    /* A login: only the SHA-256 of its token is kept here; the token
     * itself is in a 0600 file of the user's runtime folder. */
    "CREATE TABLE session ("
    "  id INTEGER PRIMARY KEY,"
    "  staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  started INTEGER NOT NULL,"
    "  last_used INTEGER NOT NULL"
    ");"
    "CREATE INDEX session_staff ON session (staff_id);"

    /* Where the kept audit chain starts after a purge: the MAC the first
     * kept row was chained to, itself under the audit key's MAC. */
    "CREATE TABLE audit_anchor ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  first_id INTEGER NOT NULL,"
    "  prev_mac BLOB NOT NULL,"
    "  purged INTEGER NOT NULL,"
    "  before INTEGER NOT NULL,"
    "  mac BLOB NOT NULL"
    ");"

    /* The register of personal-data breaches (GDPR art. 33(5)): every
     * one is kept, notified or not. Times are Unix seconds. */
    "CREATE TABLE breach ("
    "  id INTEGER PRIMARY KEY,"
    "  detected INTEGER NOT NULL,"
    "  description TEXT NOT NULL,"
    "  categories TEXT,"
    "  subjects INTEGER CHECK (subjects >= 0),"
    "  risk TEXT NOT NULL DEFAULT 'low'"
    "    CHECK (risk IN ('none', 'low', 'high')),"
    "  containment TEXT,"
    "  consequences TEXT,"
    "  measures TEXT,"
    "  authority_at INTEGER,"
    "  authority_ref TEXT,"
    "  late_reason TEXT,"
    "  subjects_at INTEGER,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"
    "CREATE INDEX breach_open ON breach (detected) WHERE authority_at IS NULL;"

    /* The people a breach touched. Erasing a client sets client_id to
     * NULL: the register keeps that someone was affected, not who. */
    "CREATE TABLE breach_subject ("
    "  id INTEGER PRIMARY KEY,"
    "  breach_id INTEGER NOT NULL REFERENCES breach (id),"
    "  client_id INTEGER REFERENCES client (id),"
    "  linked INTEGER NOT NULL,"
    "  notified INTEGER"
    ");"
    "CREATE UNIQUE INDEX breach_subject_client ON breach_subject "
    "  (breach_id, client_id) WHERE client_id IS NOT NULL;"
    "CREATE INDEX breach_subject_of ON breach_subject (client_id) "
    "  WHERE client_id IS NOT NULL;";

const struct db_migration db_migrations[] = {
	{ 1, m1 },
	{ 5, m5 },
};
const size_t db_nmigrations = sizeof(db_migrations) / sizeof(db_migrations[0]);
