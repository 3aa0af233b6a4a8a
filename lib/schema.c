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

    /* AUTOINCREMENT: an erased client's id is never given to anyone
     * else, so nothing left pointing at it can reach a new person. */
    "CREATE TABLE client ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
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
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
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
    "CREATE INDEX audit_client ON audit (client_id) WHERE client_id IS NOT NULL;"
    /* An import is one change and one row, naming its id range. */
    "CREATE INDEX audit_import ON audit (id) WHERE action = 'client.import';";

/* 2: health data, only ever sealed (AES-256-GCM, the row named in the
 * associated data), and the archive of privacy-policy versions. Policies
 * and the facts of the consent ledger are never changed once written. */
static const char m2[] =
    "CREATE TABLE client_health ("
    "  client_id INTEGER PRIMARY KEY"
    "    REFERENCES client (id) ON DELETE CASCADE,"
    "  data BLOB NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"

    "CREATE TABLE policy ("
    "  id INTEGER PRIMARY KEY,"
    "  version TEXT NOT NULL UNIQUE,"
    "  effective INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  text BLOB NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  substantial INTEGER NOT NULL DEFAULT 0,"
    "  added INTEGER NOT NULL"
    ");"
    "CREATE INDEX policy_effective ON policy (effective, id);"
    "CREATE TRIGGER policy_no_update BEFORE UPDATE ON policy BEGIN"
    "  SELECT RAISE(ABORT, 'privacy policies are archived, never changed');"
    "END;"
    "CREATE TRIGGER policy_no_delete BEFORE DELETE ON policy BEGIN"
    "  SELECT RAISE(ABORT, 'privacy policies are archived, never changed');"
    "END;"

    /* Erasure may still blank who a row is about and its evidence. */
    "CREATE TRIGGER consent_append_only"
    "  BEFORE UPDATE OF purpose, action, at, method, policy_version, actor"
    "  ON consent BEGIN"
    "  SELECT RAISE(ABORT, 'the consent ledger is append-only');"
    "END;";

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
    "CREATE INDEX message_client ON message (client_id);"
    /* A client row that goes takes its address out of the log too. */
    "CREATE TRIGGER message_client_gone AFTER UPDATE OF client_id ON message"
    "  WHEN NEW.client_id IS NULL AND OLD.client_id IS NOT NULL BEGIN"
    "  UPDATE message SET recipient = NULL WHERE id = NEW.id;"
    "END;";

/* 4: Google Calendar sync. Each operator's connected account (tokens
 * sealed with the field key, the row named in the AAD), the events pushed
 * for bookings (gcal_link: one live event per booking, or one waiting to
 * be deleted), the push outbox written in the booking's own transaction,
 * and the Google identity of imported busy blocks. No foreign key from
 * the outbox or links blocks the erasure of an appointment. */
static const char m4[] =
    "CREATE TABLE gcal_account ("
    "  staff_id INTEGER PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,"
    "  email TEXT NOT NULL,"
    "  calendar TEXT NOT NULL DEFAULT 'primary',"
    "  scopes TEXT NOT NULL,"
    "  refresh_token BLOB NOT NULL,"
    "  access_token BLOB,"
    "  access_expires INTEGER,"
    "  sync_token TEXT,"
    "  state TEXT NOT NULL DEFAULT 'ok'"
    "    CHECK (state IN ('ok', 'reauth_needed', 'error')),"
    "  last_error TEXT,"
    "  last_sync INTEGER,"
    "  last_full_sync INTEGER,"
    "  connected INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"

    /* hash: of the fields we own, as last pushed or adopted. state:
     * live, gone (deleted on Google by someone else), delete (ours to
     * delete on Google at the next sync). */
    "CREATE TABLE gcal_link ("
    "  id INTEGER PRIMARY KEY,"
    "  staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,"
    "  appointment_id INTEGER REFERENCES appointment (id)"
    "    ON DELETE SET NULL,"
    "  google_id TEXT NOT NULL,"
    "  generation INTEGER NOT NULL DEFAULT 1,"
    "  etag TEXT,"
    "  hash TEXT,"
    "  state TEXT NOT NULL DEFAULT 'live'"
    "    CHECK (state IN ('live', 'gone', 'delete')),"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"
    "CREATE UNIQUE INDEX gcal_link_google ON gcal_link (staff_id, google_id);"
    "CREATE INDEX gcal_link_appointment ON gcal_link (appointment_id);"
    "CREATE UNIQUE INDEX gcal_link_one ON gcal_link (appointment_id)"
    "  WHERE state <> 'delete';"

    "CREATE TABLE gcal_outbox ("
    "  appointment_id INTEGER PRIMARY KEY REFERENCES appointment (id)"
    "    ON DELETE CASCADE,"
    "  queued INTEGER NOT NULL,"
    "  tries INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT"
    ");"

    "ALTER TABLE event ADD COLUMN google_id TEXT;"
    "ALTER TABLE event ADD COLUMN etag TEXT;"
    "ALTER TABLE event ADD COLUMN status TEXT;"
    "CREATE UNIQUE INDEX event_google ON event (staff_id, google_id)"
    "  WHERE google_id IS NOT NULL;";

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

/*
 * 6: fiscal records under a legal hold, the register of data-subject
 * requests. Both outlive the client they are about: client_id has no
 * foreign key and is set to NULL when the client is erased.
 */
static const char m6[] =
    /* A receipt copies what the law wants on it (the client's name, the
     * service and its price as they were) so it survives erasure. year
     * and seq make the gapless yearly number; hold_until is the end of the
     * legal term, fixed when issued. The triggers below enforce the hold
     * against every writer, raw sqlite3 included, on the machine's clock
     * (not RISERVA_NOW: a tool's idea of now cannot lift a hold). */
    "CREATE TABLE fiscal ("
    "  id INTEGER PRIMARY KEY,"
    "  year INTEGER NOT NULL CHECK (year BETWEEN 1900 AND 9999),"
    "  seq INTEGER NOT NULL CHECK (seq >= 1),"
    "  number TEXT NOT NULL UNIQUE"
    "    CHECK (number = printf('%04d/%06d', year, seq)),"
    "  issued INTEGER NOT NULL,"
    "  appointment_id INTEGER,"
    "  client_id INTEGER,"
    "  name TEXT NOT NULL,"
    "  surname TEXT NOT NULL,"
    "  tax_code TEXT,"
    "  service TEXT NOT NULL,"
    "  service_date INTEGER NOT NULL,"
    "  price INTEGER CHECK (price >= 0),"
    "  amount INTEGER NOT NULL CHECK (amount > 0),"
    "  method TEXT NOT NULL CHECK (method IN ('cash', 'card', 'transfer')),"
    "  actor TEXT NOT NULL,"
    "  hold_until INTEGER NOT NULL,"
    "  CHECK (hold_until - issued >= 3650 * 86400),"
    "  UNIQUE (year, seq)"
    ");"
    "CREATE INDEX fiscal_client ON fiscal (client_id)"
    "  WHERE client_id IS NOT NULL;"
    "CREATE INDEX fiscal_appointment ON fiscal (appointment_id);"
    "CREATE INDEX fiscal_hold ON fiscal (hold_until);"

    "CREATE TRIGGER fiscal_gapless BEFORE INSERT ON fiscal"
    "  WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM fiscal"
    "    WHERE year = NEW.year)"
    "  BEGIN SELECT RAISE(ABORT, 'fiscal record out of sequence: receipt"
    " numbers are gapless within a year'); END;"
    "CREATE TRIGGER fiscal_hold_delete BEFORE DELETE ON fiscal"
    "  WHEN OLD.hold_until > CAST(strftime('%s', 'now') AS INTEGER)"
    "  BEGIN SELECT RAISE(ABORT, 'fiscal record under legal hold: it cannot"
    " be deleted before its term (hold_until)'); END;"
    /* Under hold only one change is let through: cutting the link to an
     * erased client. Any other column named in an UPDATE is refused. */
    "CREATE TRIGGER fiscal_hold_update BEFORE UPDATE OF id, year, seq,"
    "  number, issued, appointment_id, name, surname, tax_code, service,"
    "  service_date, price, amount, method, actor, hold_until ON fiscal"
    "  WHEN OLD.hold_until > CAST(strftime('%s', 'now') AS INTEGER)"
    "  BEGIN SELECT RAISE(ABORT, 'fiscal record under legal hold: it cannot"
    " be changed'); END;"
    "CREATE TRIGGER fiscal_hold_link BEFORE UPDATE OF client_id ON fiscal"
    "  WHEN OLD.hold_until > CAST(strftime('%s', 'now') AS INTEGER)"
    "    AND NEW.client_id IS NOT NULL AND NEW.client_id IS NOT OLD.client_id"
    "  BEGIN SELECT RAISE(ABORT, 'fiscal record under legal hold: its client"
    " can only be unlinked'); END;"

    /* Data-subject requests (art. 12-22). Dates are local calendar days,
     * YYYY-MM-DD: received, and due (one month later, three when
     * extended). On erasure client_id and notes become NULL; kind, dates,
     * outcome and reasons stay as the controller's accountability. */
    "CREATE TABLE request ("
    "  id INTEGER PRIMARY KEY,"
    "  client_id INTEGER,"
    "  kind TEXT NOT NULL CHECK (kind IN ('access', 'rectification',"
    "    'erasure', 'restriction', 'portability', 'objection',"
    "    'withdrawal')),"
    "  received TEXT NOT NULL CHECK (received GLOB"
    "    '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),"
    "  due TEXT NOT NULL CHECK (due GLOB"
    "    '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' AND due > received),"
    "  channel TEXT,"
    "  notes TEXT,"
    "  extended INTEGER,"
    "  extend_reason TEXT,"
    "  closed INTEGER,"
    "  outcome TEXT CHECK (outcome IN ('done', 'refused')),"
    "  close_reason TEXT,"
    "  actor TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  CHECK ((extended IS NULL) = (extend_reason IS NULL)),"
    "  CHECK ((closed IS NULL) = (outcome IS NULL))"
    ");"
    "CREATE INDEX request_client ON request (client_id, closed)"
    "  WHERE client_id IS NOT NULL;"
    "CREATE INDEX request_due ON request (due) WHERE closed IS NULL;";

/*
 * 7: the erasure journal, and the index that finds an appointment's
 * calendar events. A journal row says only which client id was erased and
 * when, with the client row's creation time: a restored older backup then
 * recognizes that same client (and not a later one that happens to get
 * the same id) and erases it again. Nothing else about them is kept.
 */
static const char m7[] =
    "CREATE TABLE erasure ("
    "  id INTEGER PRIMARY KEY,"
    "  client_id INTEGER NOT NULL UNIQUE,"
    "  created INTEGER NOT NULL,"
    "  erased INTEGER NOT NULL"
    ");"
    "CREATE INDEX event_appointment ON event (appointment_id)"
    "  WHERE appointment_id IS NOT NULL;";

/*
 * 8: the legal hold against REPLACE. INSERT OR REPLACE (and REPLACE INTO)
 * deletes the row whose id it takes without firing the delete trigger
 * (SQLite fires it only with recursive_triggers on, which a raw sqlite3
 * session does not set): a receipt under hold could be swapped for another.
 * A new row may not take the id of one under hold; and no row gets an id
 * below 1, so that -1, what BEFORE INSERT sees for an id still to be
 * chosen, never names a row.
 */
static const char m8[] =
    "CREATE TRIGGER fiscal_hold_replace BEFORE INSERT ON fiscal"
    "  WHEN EXISTS (SELECT 1 FROM fiscal WHERE id = NEW.id"
    "    AND hold_until > CAST(strftime('%s', 'now') AS INTEGER))"
    "  BEGIN SELECT RAISE(ABORT, 'fiscal record under legal hold: it cannot"
    " be replaced'); END;"
    "CREATE TRIGGER fiscal_id AFTER INSERT ON fiscal WHEN NEW.id < 1"
    "  BEGIN SELECT RAISE(ABORT, 'fiscal record ids start at 1'); END;";

const struct db_migration db_migrations[] = {
	{ 1, m1 },
	{ 2, m2 },
	{ 3, m3 },
	{ 4, m4 },
	{ 5, m5 },
	{ 6, m6 },
	{ 7, m7 },
	{ 8, m8 },
};
const size_t db_nmigrations = sizeof(db_migrations) / sizeof(db_migrations[0]);
