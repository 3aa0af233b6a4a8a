/*
 * backup.c — encrypted backups: a snapshot by SQLite's online backup API
 * into memory (no plaintext copy on disk, writers carry on), sealed in
 * AES-256-GCM chunks into a file named by its UTC time; listing, pruning,
 * verifying and restoring them. Restoring writes a new file only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>

#include "riserva.h"
#include "backup.h"
#include "audit.h"
#include "mac.h"
#include "banned.h"

#define HDR_LEN 128
#define TAG_LEN 16
#define CHUNK (1u << 20)
#define MIN_CHUNK 4096u
#define MAX_CHUNK (64u << 20)
#define PREFIX "riserva-"

static const char magic[8] = { 'R', 'V', 'B', 'A', 'C', 'K', 'U', 'P' };
static const char check_label[] = "riserva backup key check";
static const char file_label[] = "riserva backup file";

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
hdr_pack(struct backup_hdr *h)
{
	memset(h->raw, 0, HDR_LEN);
	memcpy(h->raw, magic, 8);
	put_be(h->raw + 8, h->version, 4);
	put_be(h->raw + 12, h->chunk, 4);
	put_be(h->raw + 16, (uint64_t)h->created, 8);
	put_be(h->raw + 24, (uint64_t)h->schema, 8);
	put_be(h->raw + 32, h->size, 8);
	memcpy(h->raw + 40, h->salt, 32);
	memcpy(h->raw + 72, h->keycheck, 32);
}

static int
hdr_unpack(const char *path, struct backup_hdr *h, struct rv_err *e)
{
	size_t i;

	if (memcmp(h->raw, magic, 8) != 0)
		return rv_fail(e, EX_DATAERR, "%s is not a riserva backup",
		    path);
	h->version = (uint32_t)get_be(h->raw + 8, 4);
	h->chunk = (uint32_t)get_be(h->raw + 12, 4);
	h->created = (int64_t)get_be(h->raw + 16, 8);
	h->schema = (int64_t)get_be(h->raw + 24, 8);
	h->size = get_be(h->raw + 32, 8);
	memcpy(h->salt, h->raw + 40, 32);
	memcpy(h->keycheck, h->raw + 72, 32);
	if (h->version != 1)
		return rv_fail(e, EX_DATAERR, "%s is a version %u backup: "
		    "a newer riserva made it", path, (unsigned)h->version);
	for (i = 104; i < HDR_LEN; i++)
		if (h->raw[i] != 0)
			goto bad;
	if (h->chunk < MIN_CHUNK || h->chunk > MAX_CHUNK ||
	    h->size > ((uint64_t)1 << 50))
		goto bad;
	return 0;
bad:
	return rv_fail(e, EX_DATAERR, "%s: the backup's header is damaged",
	    path);
}

static uint64_t
nchunks(const struct backup_hdr *h)
{
	/* Always a last chunk, empty when the size is a multiple. */
	return h->size / h->chunk + 1;
}

static uint64_t
file_size(const struct backup_hdr *h)
{
	return HDR_LEN + h->size + nchunks(h) * TAG_LEN;
}

static void
keycheck_of(const uint8_t key[RV_KEY_LEN], uint8_t out[32])
{
	crypt_hmac(key, check_label, sizeof(check_label) - 1, out);
}

static void
file_key(const uint8_t key[RV_KEY_LEN], const uint8_t salt[32],
    uint8_t out[RV_KEY_LEN])
{
	uint8_t msg[sizeof(file_label) - 1 + 32];

	memcpy(msg, file_label, sizeof(file_label) - 1);
	memcpy(msg + sizeof(file_label) - 1, salt, 32);
	crypt_hmac(key, msg, sizeof(msg), out);
}

/* One chunk through GCM: nonce = chunk number (8 bytes) and a last-chunk
 * flag (4 bytes), the header as associated data. */
static int
seal_chunk(gcry_cipher_hd_t c, int encrypt, uint64_t index, int last,
    const uint8_t *aad, uint8_t *buf, size_t n, uint8_t tag[TAG_LEN])
{
	uint8_t nonce[12];

	put_be(nonce, index, 8);
	put_be(nonce + 8, last ? 1 : 0, 4);
	if (gcry_cipher_reset(c) || gcry_cipher_setiv(c, nonce, sizeof(nonce)) ||
	    gcry_cipher_authenticate(c, aad, HDR_LEN) || gcry_cipher_final(c))
		return -1;
	if (encrypt)
		return gcry_cipher_encrypt(c, buf, n, NULL, 0) ||
		    gcry_cipher_gettag(c, tag, TAG_LEN) ? -1 : 0;
	return gcry_cipher_decrypt(c, buf, n, NULL, 0) ||
	    gcry_cipher_checktag(c, tag, TAG_LEN) ? -1 : 0;
}

static int
cipher_open(gcry_cipher_hd_t *c, const uint8_t key[RV_KEY_LEN],
    struct rv_err *e)
{
	if (gcry_cipher_open(c, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0) ||
	    gcry_cipher_setkey(*c, key, RV_KEY_LEN))
		return rv_fail(e, EX_SOFTWARE, "cipher setup failed");
	return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 1 read in full, 0 at the end of the file before anything, -1 short or
 * an error (errno 0 when short). */
static int
read_all(int fd, void *p, size_t n)
{
	char *s = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, s + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = 0;
			return got == 0 ? 0 : -1;
		}
		got += (size_t)r;
	}
	return 1;
}

static void
sync_dir(const char *path)
{
	char dir[PATH_MAX], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

int
backup_dir(const struct rv_conf *c, char *buf, size_t n, struct rv_err *e)
{
	const char *s = conf_get(c, "backup.dir"), *home = getenv("HOME");
	int w;

	if (s != NULL && *s != '\0')
		w = snprintf(buf, n, "%s", s);
	else if ((s = getenv("XDG_DATA_HOME")) != NULL && *s == '/')
		w = snprintf(buf, n, "%s/riserva/backups", s);
	else if (home != NULL && *home != '\0')
		w = snprintf(buf, n, "%s/.local/share/riserva/backups", home);
	else
		return rv_fail(e, EX_CONFIG, "no backup folder: set backup.dir "
		    "or HOME, or pass --output");
	if (w < 0 || (size_t)w >= n)
		return rv_fail(e, EX_CONFIG, "backup folder path too long");
	return 0;
}

/*
 * The snapshot: the online backup API copies every page, under one read
 * transaction of the WAL, into a database held in one block of memory.
 */
static int
snapshot(sqlite3 *db, sqlite3 **mem, unsigned char **img, sqlite3_int64 *n,
    struct rv_err *e)
{
	sqlite3_int64 limit = (sqlite3_int64)1 << 40;
	sqlite3_backup *b;
	int rc, tries = 0;

	*img = NULL;
	if (sqlite3_open(":memory:", mem) != SQLITE_OK ||
	    sqlite3_deserialize(*mem, "main", NULL, 0, 0,
	    SQLITE_DESERIALIZE_RESIZEABLE | SQLITE_DESERIALIZE_FREEONCLOSE) !=
	    SQLITE_OK)
		return rv_fail(e, EX_SOFTWARE, "cannot make an in-memory "
		    "database: %s", sqlite3_errmsg(*mem));
	sqlite3_file_control(*mem, "main", SQLITE_FCNTL_SIZE_LIMIT, &limit);
	if ((b = sqlite3_backup_init(*mem, "main", db, "main")) == NULL)
		return db_fail(*mem, sqlite3_errcode(*mem), e, "backup");
	/* -1: every page in one step, one snapshot. A checkpoint holding
	 * the file a moment is waited for, a few seconds at most. */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	    rc == SQLITE_LOCKED) {
		if (++tries > 100)
			break;
		sqlite3_sleep(50);
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "backup");
	*img = sqlite3_serialize(*mem, "main", n, SQLITE_SERIALIZE_NOCOPY);
	if (*img == NULL || *n < 100)
		return rv_fail(e, EX_SOFTWARE, "the snapshot is empty");
	/* A plain rollback-journal file: readable as it is, in memory too
	 * (WAL is switched on again by whoever opens it for use). */
	(*img)[18] = 1;
	(*img)[19] = 1;
	return 0;
}

static json_t *
backup_record(const char *path, const struct backup_hdr *h, uint64_t fsize)
{
	const char *slash = strrchr(path, '/');
	json_t *r = json_object();

	json_object_set_new(r, "type", json_string("backup"));
	json_object_set_new(r, "id", json_string(slash ? slash + 1 : path));
	json_object_set_new(r, "path", json_string(path));
	rec_time(r, "created", h->created);
	json_object_set_new(r, "size", json_integer((json_int_t)fsize));
	json_object_set_new(r, "db_size", json_integer((json_int_t)h->size));
	json_object_set_new(r, "schema", json_integer(h->schema));
	return r;
}

/* Links tmp to dir/riserva-<time>[-N].rvbak: never over another file. */
static int
publish(const char *tmp, const char *dir, int64_t now, char *path, size_t n,
    struct rv_err *e)
{
	time_t t = (time_t)now;
	struct tm tm;
	char stamp[32];
	int i;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H%M%SZ", &tm);
	for (i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(path, n, "%s/" PREFIX "%s" BACKUP_SUFFIX, dir,
			    stamp);
		else
			snprintf(path, n, "%s/" PREFIX "%s-%d" BACKUP_SUFFIX,
			    dir, stamp, i);
		if (link(tmp, path) == 0)
			return 0;
		if (errno != EEXIST)
			return rv_fail_errno(e, EX_CANTCREAT,
			    "cannot create %s", path);
	}
	return rv_fail(e, EX_CANTCREAT, "too many backups named %s", stamp);
}

/* A backup is a copy of everyone's data: on the record, in the database
 * it is of. */
static int
audit_file(sqlite3 *db, const struct rv_who *w, const char *action,
    const char *path, struct rv_err *e)
{
	const char *slash = strrchr(path, '/');
	char ref[300];
	int rc;

	snprintf(ref, sizeof(ref), "backup %s", slash ? slash + 1 : path);
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = audit_append(db, w, action, 0, ref, NULL, e)) != 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, e);
}

int
backup_create(sqlite3 *db, const struct rv_who *w, const char *dir,
    json_t **rec, struct rv_err *e)
{
	int64_t now = w->now;
	uint8_t key[RV_KEY_LEN], fkey[RV_KEY_LEN], tag[TAG_LEN], *buf = NULL;
	char tmp[PATH_MAX], path[PATH_MAX];
	struct backup_hdr h = { 0 };
	gcry_cipher_hd_t c = NULL;
	sqlite3 *mem = NULL;
	unsigned char *img;
	sqlite3_int64 n = 0;
	uint64_t i, off;
	int64_t schema;
	int fd = -1, rc;

	*rec = NULL;
	tmp[0] = '\0';
	if ((rc = keys_get(db, RV_KEY_BACKUP, key, NULL, e)) != 0 ||
	    (rc = db_int(db, "PRAGMA user_version", 0, &schema, NULL, e)) !=
	    0 ||
	    (rc = mkdir_parents(dir, 0700, e)) != 0)
		goto out;
	if ((rc = snapshot(db, &mem, &img, &n, e)) != 0)
		goto out;
	h.version = 1;
	h.chunk = CHUNK;
	h.created = now;
	h.schema = schema;
	h.size = (uint64_t)n;
	crypt_random(h.salt, sizeof(h.salt));
	keycheck_of(key, h.keycheck);
	hdr_pack(&h);
	file_key(key, h.salt, fkey);
	if ((rc = cipher_open(&c, fkey, e)) != 0)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s/.backup-%ld.tmp", dir,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		rc = rv_fail(e, EX_CANTCREAT, "backup folder path too long");
		goto out;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot create %s", tmp);
		tmp[0] = '\0';
		goto out;
	}
	if (write_all(fd, h.raw, HDR_LEN) < 0)
		goto wfail;
	buf = xmalloc(CHUNK);
	for (i = 0, off = 0; i < nchunks(&h); i++, off += CHUNK) {
		size_t len = h.size - off < CHUNK ? (size_t)(h.size - off) :
		    CHUNK;

		memcpy(buf, img + off, len);
		if (seal_chunk(c, 1, i, i + 1 == nchunks(&h), h.raw, buf, len,
		    tag) < 0) {
			rc = rv_fail(e, EX_SOFTWARE, "encryption failed");
			goto out;
		}
		if (write_all(fd, buf, len) < 0 ||
		    write_all(fd, tag, TAG_LEN) < 0)
			goto wfail;
	}
	if (fsync(fd) < 0)
		goto wfail;
	close(fd);
	fd = -1;
	if ((rc = publish(tmp, dir, now, path, sizeof(path), e)) != 0)
		goto out;
	sync_dir(path);
	if ((rc = audit_file(db, w, "backup.create", path, e)) != 0) {
		unlink(path);
		goto out;
	}
	*rec = backup_record(path, &h, file_size(&h));
	goto out;
wfail:
	rc = rv_fail_errno(e, EX_IOERR, "cannot write %s", tmp);
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	gcry_cipher_close(c);
	if (buf != NULL)
		rv_wipe(buf, CHUNK);
	free(buf);
	sqlite3_close(mem);	/* frees the image */
	rv_wipe(key, sizeof(key));
	rv_wipe(fkey, sizeof(fkey));
	return rc;
}

/* Opens a backup and reads its header; checks the file's length against
 * it, so a cut-off file is named before anything is decrypted. */
static int
backup_open(const char *path, int *fdp, struct backup_hdr *h,
    struct rv_err *e)
{
	struct stat sb;
	int fd, r, rc;

	*fdp = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return rv_fail_errno(e, errno == ENOENT ? EX_NOINPUT :
		    EX_NOINPUT, "cannot open %s", path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = rv_fail(e, EX_NOINPUT, "%s is not a file", path);
		goto fail;
	}
	r = read_all(fd, h->raw, HDR_LEN);
	if (r < 0 && errno != 0) {
		rc = rv_fail_errno(e, EX_IOERR, "cannot read %s", path);
		goto fail;
	}
	if (r <= 0) {
		rc = rv_fail(e, EX_DATAERR, "%s is not a riserva backup (too "
		    "short)", path);
		goto fail;
	}
	if ((rc = hdr_unpack(path, h, e)) != 0)
		goto fail;
	if ((uint64_t)sb.st_size != file_size(h)) {
		rc = rv_fail(e, EX_DATAERR, (uint64_t)sb.st_size <
		    file_size(h) ? "%s is truncated (%lld of %llu bytes): "
		    "refused" : "%s has data after its end (%lld bytes, "
		    "expected %llu): refused", path, (long long)sb.st_size,
		    (unsigned long long)file_size(h));
		goto fail;
	}
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

/* The backup key from the key file alone: verify and restore need no
 * database. A different key is named as such, not as damage. */
static int
backup_file_key(const char *path, const struct backup_hdr *h,
    uint8_t fkey[RV_KEY_LEN], struct rv_err *e)
{
	uint8_t master[RV_KEY_LEN], key[RV_KEY_LEN], check[32];
	int rc;

	if ((rc = crypt_key_read(0, master, NULL, e)) != 0)
		return rc;
	crypt_derive(master, RV_KEY_BACKUP, key);
	rv_wipe(master, sizeof(master));
	keycheck_of(key, check);
	if (!mac_equal(check, h->keycheck, sizeof(check)))
		rc = rv_fail(e, EX_CONFIG, "%s was made with another key than "
		    "%s", path, crypt_key_path());
	else
		file_key(key, h->salt, fkey);
	rv_wipe(key, sizeof(key));
	return rc;
}

/* Every chunk decrypted and authenticated in order, handed to sink. */
static int
decrypt_all(const char *path, int fd, const struct backup_hdr *h,
    int (*sink)(const uint8_t *p, size_t n, void *arg), void *arg,
    struct rv_err *e)
{
	uint8_t fkey[RV_KEY_LEN], tag[TAG_LEN], *buf = NULL;
	gcry_cipher_hd_t c = NULL;
	uint64_t i, off;
	int rc;

	if ((rc = backup_file_key(path, h, fkey, e)) != 0 ||
	    (rc = cipher_open(&c, fkey, e)) != 0)
		goto out;
	buf = xmalloc(h->chunk);
	for (i = 0, off = 0; i < nchunks(h); i++, off += h->chunk) {
		size_t len = h->size - off < h->chunk ?
		    (size_t)(h->size - off) : h->chunk;

		if ((len > 0 && read_all(fd, buf, len) != 1) ||
		    read_all(fd, tag, TAG_LEN) != 1) {
			rc = rv_fail(e, EX_DATAERR, "%s is truncated at chunk "
			    "%llu: refused", path, (unsigned long long)i);
			goto out;
		}
		if (seal_chunk(c, 0, i, i + 1 == nchunks(h), h->raw, buf, len,
		    tag) < 0) {
			rc = rv_fail(e, EX_DATAERR, "%s does not authenticate "
			    "(chunk %llu): it was changed or damaged; refused",
			    path, (unsigned long long)i);
			goto out;
		}
		if ((rc = sink(buf, len, arg)) != 0)
			goto out;
	}
	if (read_all(fd, tag, 1) != 0)
		rc = rv_fail(e, EX_DATAERR, "%s has data after its last chunk: "
		    "refused", path);
out:
	gcry_cipher_close(c);
	if (buf != NULL)
		rv_wipe(buf, h->chunk);
	free(buf);
	rv_wipe(fkey, sizeof(fkey));
	return rc;
}

struct mem_sink {
	uint8_t *p;
	size_t n;
};

static int
to_memory(const uint8_t *p, size_t n, void *arg)
{
	struct mem_sink *m = arg;

	memcpy(m->p + m->n, p, n);
	m->n += n;
	return 0;
}

/* "ok", or the first problem integrity_check names. */
static int
integrity(sqlite3 *db, const char *path, struct rv_err *e)
{
	sqlite3_stmt *st;
	char msg[256] = "";
	int rc;

	if ((rc = db_prepare(db, "PRAGMA integrity_check", &st, e)) != 0)
		return rv_prefix(e, "%s: ", path);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(msg, sizeof(msg), "%s", sqlite3_column_text(st, 0));
	else
		snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (strcmp(msg, "ok") != 0)
		return rv_fail(e, EX_DATAERR, "%s: the database in the backup "
		    "is not intact: %s", path, msg);
	return 0;
}

static void
count_into(sqlite3 *db, json_t *r, const char *key, const char *sql)
{
	int64_t n;

	if (db_int(db, sql, 0, &n, NULL, NULL) == 0)
		json_object_set_new(r, key, json_integer(n));
}

int
backup_verify(const char *path, json_t **rec, struct rv_err *e)
{
	struct mem_sink m = { NULL, 0 };
	struct audit_check v;
	struct backup_hdr h;
	sqlite3 *mem = NULL;
	int fd = -1, rc;

	*rec = NULL;
	if ((rc = backup_open(path, &fd, &h, e)) != 0)
		return rc;
	if ((m.p = sqlite3_malloc64(h.size ? h.size : 1)) == NULL) {
		rc = rv_fail(e, EX_OSERR, "out of memory for %llu bytes",
		    (unsigned long long)h.size);
		goto out;
	}
	if ((rc = decrypt_all(path, fd, &h, to_memory, &m, e)) != 0)
		goto out;
	if (sqlite3_open(":memory:", &mem) != SQLITE_OK) {
		rc = rv_fail(e, EX_SOFTWARE, "cannot open memory database");
		goto out;
	}
	rc = sqlite3_deserialize(mem, "main", m.p, (sqlite3_int64)h.size,
	    (sqlite3_int64)h.size, SQLITE_DESERIALIZE_FREEONCLOSE |
	    SQLITE_DESERIALIZE_READONLY);
	m.p = NULL;	/* the database owns it now */
	if (rc != SQLITE_OK) {
		rc = rv_fail(e, EX_DATAERR, "%s: not an SQLite database",
		    path);
		goto out;
	}
	if ((rc = integrity(mem, path, e)) != 0)
		goto out;
	*rec = backup_record(path, &h, file_size(&h));
	json_object_set_new(*rec, "integrity", json_string("ok"));
	count_into(mem, *rec, "clients", "SELECT count(*) FROM client");
	count_into(mem, *rec, "appointments",
	    "SELECT count(*) FROM appointment");
	count_into(mem, *rec, "audit_rows", "SELECT count(*) FROM audit");
	/* The trail inside the backup is checked too: evidence kept apart. */
	if ((rc = audit_verify(mem, &v, NULL, NULL, e)) != 0)
		goto out;
	json_object_set_new(*rec, "audit_intact", json_boolean(v.broken_id ==
	    0));
	if (v.broken_id != 0)
		json_object_set_new(*rec, "audit_problem",
		    json_string(v.problem));
out:
	if (m.p != NULL) {
		rv_wipe(m.p, m.n);
		sqlite3_free(m.p);
	}
	db_close(mem);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
to_file(const uint8_t *p, size_t n, void *arg)
{
	return write_all(*(int *)arg, p, n) < 0 ? EX_IOERR : 0;
}

static int
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 || errno != ENOENT;
}

static int
has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int found;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE "
	    "type = 'table' AND name = ?", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int
backup_restore(const char *path, const char *target, const struct rv_who *w,
    const struct backup_restore_opts *o, json_t **rec, struct rv_err *e)
{
	static const char *const sidecars[] = { "", "-wal", "-shm",
		"-journal" };
	char tmp[PATH_MAX], side[PATH_MAX];
	const char *slash;
	json_t *report = NULL;
	struct backup_hdr h;
	sqlite3 *db = NULL;
	int fd = -1, out = -1, rc;
	size_t i;

	*rec = NULL;
	tmp[0] = '\0';
	/* Never over a database: not its file, not its journal. */
	for (i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", target, sidecars[i]);
		if (exists(side))
			return rv_fail(e, EX_CANTCREAT, "%s exists: restore "
			    "into a new file (--db PATH), then move it into "
			    "place", side);
	}
	if ((rc = backup_open(path, &fd, &h, e)) != 0)
		return rc;
	if (h.schema > db_migrations[db_nmigrations - 1].version) {
		rc = rv_fail(e, EX_CONFIG, "%s holds schema %lld, newer than "
		    "this riserva knows (%d): upgrade riserva", path,
		    (long long)h.schema,
		    db_migrations[db_nmigrations - 1].version);
		goto fail;
	}
	/* Beside the target, hidden, until it has passed every check. */
	slash = strrchr(target, '/');
	if ((slash != NULL ? snprintf(tmp, sizeof(tmp),
	    "%.*s/.%s.restore-XXXXXX", (int)(slash - target), target,
	    slash + 1) : snprintf(tmp, sizeof(tmp), ".%s.restore-XXXXXX",
	    target)) >= (int)sizeof(tmp)) {
		tmp[0] = '\0';
		rc = rv_fail(e, EX_CANTCREAT, "path too long: %s", target);
		goto fail;
	}
	if ((out = mkstemp(tmp)) < 0) {
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot create a file "
		    "beside %s", target);
		tmp[0] = '\0';
		goto fail;
	}
	/* 1. Decrypt: every chunk must authenticate. */
	if ((rc = decrypt_all(path, fd, &h, to_file, &out, e)) != 0)
		goto fail;
	if (fsync(out) < 0) {
		rc = rv_fail_errno(e, EX_IOERR, "cannot write %s", tmp);
		goto fail;
	}
	close(out);
	out = -1;
	/* 2. The database must be whole. */
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		rc = rv_fail(e, EX_DATAERR, "%s: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	if ((rc = integrity(db, path, e)) != 0)
		goto fail;
	/* 3. Erasures recorded after the backup are made again before the
	 * file can be used: the erasure journal is gdpr-erase's, which
	 * passes its replay here. */
	if (o != NULL && o->reerase != NULL) {
		report = json_array();
		if ((rc = o->reerase(db, h.created, report, o->arg, e)) != 0)
			goto fail;
	}
	if ((rc = audit_file(db, w, "backup.restore", path, e)) != 0)
		goto fail;
	*rec = backup_record(path, &h, file_size(&h));
	json_object_set_new(*rec, "type", json_string("restore"));
	json_object_set_new(*rec, "path", json_string(target));
	json_object_set_new(*rec, "integrity", json_string("ok"));
	json_object_set_new(*rec, "reerased", report != NULL ? report :
	    json_null());
	report = NULL;
	json_object_set_new(*rec, "erasure_journal", json_boolean(
	    has_table(db, "erasure")));
	db_close(db);
	db = NULL;
	/* 4. Only now the name: link() fails rather than replace a file
	 * that appeared meanwhile. */
	if (link(tmp, target) < 0) {
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot create %s", target);
		goto fail;
	}
	unlink(tmp);
	sync_dir(target);
	close(fd);
	return 0;
fail:
	json_decref(report);
	json_decref(*rec);
	*rec = NULL;
	db_close(db);
	if (out >= 0)
		close(out);
	if (tmp[0] != '\0') {
		unlink(tmp);
		snprintf(side, sizeof(side), "%s-journal", tmp);
		unlink(side);
	}
	close(fd);
	return rc;
}

struct entry {
	char *path;
	struct backup_hdr h;
	uint64_t fsize;
};

static int
entry_order(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->h.created != y->h.created)
		return x->h.created < y->h.created ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* The backups in dir whose header reads, oldest first. */
static int
scan(const char *dir, struct entry **out, size_t *n, struct rv_err *e)
{
	size_t cap = 0, plen = strlen(PREFIX), slen = strlen(BACKUP_SUFFIX);
	struct entry *v = NULL;
	struct dirent *d;
	struct stat sb;
	DIR *dp;
	int fd;

	*out = NULL;
	*n = 0;
	if ((dp = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return rv_fail_errno(e, EX_NOINPUT, "cannot read %s", dir);
	}
	while ((d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);
		struct entry x;

		if (len <= plen + slen || strncmp(d->d_name, PREFIX, plen) ||
		    strcmp(d->d_name + len - slen, BACKUP_SUFFIX) != 0)
			continue;
		memset(&x, 0, sizeof(x));
		x.path = xmalloc(strlen(dir) + len + 2);
		snprintf(x.path, strlen(dir) + len + 2, "%s/%s", dir,
		    d->d_name);
		fd = open(x.path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
		    read_all(fd, x.h.raw, HDR_LEN) != 1 ||
		    hdr_unpack(x.path, &x.h, NULL) != 0) {
			if (fd >= 0)
				close(fd);
			free(x.path);
			continue;
		}
		close(fd);
		x.fsize = (uint64_t)sb.st_size;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = x;
	}
	closedir(dp);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), entry_order);
	*out = v;
	return 0;
}

static void
entries_free(struct entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

int
backup_list(const char *dir, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e)
{
	struct entry *v;
	size_t n, i;
	int rc;

	if ((rc = scan(dir, &v, &n, e)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(backup_record(v[i].path, &v[i].h, v[i].fsize), arg);
	entries_free(v, n);
	return rc;
}

int
backup_prune(const char *dir, int64_t before, int dry_run,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	struct entry *v;
	size_t n, i;
	int rc;

	if ((rc = scan(dir, &v, &n, e)) != 0)
		return rc;
	/* The newest backup stays whatever its age: a stopped cron job
	 * must not leave the centre with none. */
	for (i = 0; i + 1 < n && rc == 0; i++) {
		if (v[i].h.created >= before)
			continue;
		if (!dry_run && unlink(v[i].path) < 0) {
			rc = rv_fail_errno(e, EX_IOERR, "cannot remove %s",
			    v[i].path);
			break;
		}
		rc = fn(backup_record(v[i].path, &v[i].h, v[i].fsize), arg);
	}
	entries_free(v, n);
	return rc;
}
