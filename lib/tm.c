/* tm.c — wall times in the centre's time zone, RFC 3339, and the DST rules. */
#include <ctype.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "riserva.h"
#include "banned.h"

static char zone_name[128] = "UTC";

const char *const tm_day_names[8] = {
	"", "mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

/* Howard Hinnant's civil-date algorithms, proleptic Gregorian. */
int64_t
tm_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
tm_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int
tm_days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

int
tm_weekday(int y, int m, int d)
{
	int64_t z = tm_days_from_civil(y, m, d);

	return (int)(((z % 7) + 7 + 3) % 7) + 1;
}

void
tm_add_days(int *y, int *m, int *d, int n)
{
	tm_civil_from_days(tm_days_from_civil(*y, *m, *d) + n, y, m, d);
}

static int
is_tzif(const char *path)
{
	char magic[4];
	FILE *f = fopen(path, "rb");
	int ok;

	if (f == NULL)
		return 0;
	ok = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
	    memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

int
tm_init(const char *zone, struct rv_err *e)
{
	char path[PATH_MAX];
	const char *dir = getenv("TZDIR");
	struct stat st;

	if (zone == NULL || *zone == '\0' || zone[0] == '/' ||
	    strstr(zone, "..") != NULL || strlen(zone) >= sizeof(zone_name))
		return rv_fail(e, EX_CONFIG, "bad time zone '%s'",
		    zone ? zone : "");
	snprintf(path, sizeof(path), "%s/%s",
	    dir && *dir ? dir : "/usr/share/zoneinfo", zone);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return rv_fail(e, EX_CONFIG,
		    "unknown time zone '%s' (no %s; is tzdata installed?)",
		    zone, path);
	/* zone.tab and friends are regular files too; glibc would fall
	 * back to UTC on them without a word. */
	if (!is_tzif(path))
		return rv_fail(e, EX_CONFIG,
		    "unknown time zone '%s' (%s is not a zone file)", zone,
		    path);
	snprintf(zone_name, sizeof(zone_name), "%s", zone);
	if (setenv("TZ", zone, 1) < 0)
		return rv_fail_errno(e, EX_OSERR, "setenv TZ");
	tzset();
	return 0;
}

const char *
tm_zone(void)
{
	return zone_name;
}

static void
local_of(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	localtime_r(&tt, tm);
}

static long
offset_at(int64_t t)
{
	struct tm tm;

	local_of(t, &tm);
	return tm.tm_gmtoff;
}

/* Seconds of the wall clock as if it were UTC: comparable across days. */
static int64_t
wall_key(int64_t t)
{
	struct tm tm;

	local_of(t, &tm);
	return tm_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 +
	    tm.tm_sec;
}

/*
 * The instants whose local wall time is w (wall seconds as UTC): none in a
 * spring-forward gap, two in a fall-back hour. Candidates come from the
 * offsets in force a day before and a day after.
 */
static int
wall_candidates(int64_t w, int64_t out[2])
{
	long off[2] = { offset_at(w - 86400), offset_at(w + 86400) };
	int n = 0, i;

	for (i = 0; i < 2; i++) {
		int64_t t = w - off[i];

		if (wall_key(t) != w || (n == 1 && out[0] == t))
			continue;
		out[n++] = t;
	}
	if (n == 2 && out[0] > out[1]) {
		int64_t x = out[0];

		out[0] = out[1];
		out[1] = x;
	}
	return n;
}

int64_t
tm_wall(int y, int m, int d, int minute)
{
	int64_t w = tm_days_from_civil(y, m, d) * 86400 + minute * 60;
	int64_t c[2], lo, hi;

	if (wall_candidates(w, c) > 0)
		return c[0];
	/* In a gap: the first instant whose wall clock is past w. */
	lo = w - offset_at(w - 86400);
	hi = w - offset_at(w + 86400);
	if (lo > hi) {
		int64_t x = lo;

		lo = hi;
		hi = x;
	}
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (wall_key(mid) >= w)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int64_t
tm_day_start(int y, int m, int d)
{
	return tm_wall(y, m, d, 0);
}

void
tm_day_of(int64_t t, int *y, int *m, int *d, int *minute)
{
	struct tm tm;

	local_of(t, &tm);
	*y = tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
	*d = tm.tm_mday;
	if (minute != NULL)
		*minute = tm.tm_hour * 60 + tm.tm_min;
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (; n > 0; n--, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return 0;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 1;
}

static int
date_part(const char **p, int *y, int *m, int *d)
{
	if (!digits(p, 4, y) || *(*p)++ != '-' || !digits(p, 2, m) ||
	    *(*p)++ != '-' || !digits(p, 2, d))
		return 0;
	return *y >= 1900 && *m >= 1 && *m <= 12 && *d >= 1 &&
	    *d <= tm_days_in_month(*y, *m);
}

int
tm_parse_date(const char *s, int *y, int *m, int *d, struct rv_err *e)
{
	const char *p = s;

	if (!date_part(&p, y, m, d) || *p != '\0')
		return rv_fail(e, EX_DATAERR,
		    "bad date '%s': write it as YYYY-MM-DD", s);
	return 0;
}

static char *
put2(char *p, int v)
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* YYYY-MM-DDTHH:MM:SS+hh:mm; by hand, as this runs for every record. */
static void
fmt_offset_time(int64_t t, long off, char buf[40])
{
	int y, m, d;
	int64_t w = t + off, days = w >= 0 ? w / 86400 : (w - 86399) / 86400;
	int sod = (int)(w - days * 86400);
	long a = off < 0 ? -off : off;
	char *p = buf;

	tm_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		snprintf(buf, 40, "%d-%02d-%02dT00:00:00Z", y, m, d);
		return;
	}
	p = put2(p, y / 100);
	p = put2(p, y % 100);
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, sod / 3600);
	*p++ = ':';
	p = put2(p, sod / 60 % 60);
	*p++ = ':';
	p = put2(p, sod % 60);
	*p++ = off < 0 ? '-' : '+';
	p = put2(p, (int)(a / 3600 % 100));
	*p++ = ':';
	p = put2(p, (int)(a / 60 % 60));
	*p = '\0';
}

int
tm_parse(const char *s, int64_t *t, struct rv_err *e)
{
	const char *p = s;
	int y, m, d, hh, mm, ss = 0, oh, om, sign = 0, n;
	int64_t w, c[2];
	char a[40], b[40];

	if (!date_part(&p, &y, &m, &d))
		goto bad;
	if (*p != 'T' && *p != 't' && *p != ' ')
		goto bad;
	p++;
	if (!digits(&p, 2, &hh) || *p++ != ':' || !digits(&p, 2, &mm))
		goto bad;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &ss))
			goto bad;
		if (*p == '.' || *p == ',')
			for (p++; isdigit((unsigned char)*p); p++)
				;
	}
	if (hh > 23 || mm > 59 || ss > 59)
		goto bad;
	w = tm_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? 1 : -1;
		if (!digits(&p, 2, &oh))
			goto bad;
		if (*p == ':')
			p++;
		if (!digits(&p, 2, &om) || oh > 23 || om > 59)
			goto bad;
		w += sign * (oh * 3600 + om * 60);
	} else if (*p == '\0') {
		n = wall_candidates(w, c);
		if (n == 1) {
			*t = c[0];
			return 0;
		}
		if (n == 0) {
			long before = offset_at(w - 86400);

			fmt_offset_time(w - before, before, a);
			tm_local(w - before, b);
			return rv_fail(e, EX_DATAERR,
			    "%s does not exist in %s: the clocks skip that "
			    "hour; write it with an offset, e.g. %s (%s "
			    "local time)", s, zone_name, a, b + 11);
		}
		fmt_offset_time(c[0], offset_at(c[0]), a);
		fmt_offset_time(c[1], offset_at(c[1]), b);
		return rv_fail(e, EX_DATAERR,
		    "%s is ambiguous in %s: the hour repeats; write %s "
		    "(the first) or %s (the second)", s, zone_name, a, b);
	}
	if (*p != '\0')
		goto bad;
	*t = w;
	return 0;
bad:
	return rv_fail(e, EX_DATAERR,
	    "bad time '%s': write 'YYYY-MM-DD HH:MM' (local) or RFC 3339 "
	    "with an offset", s);
}

int
tm_parse_bound(const char *s, int end_of_day, int64_t *t, struct rv_err *e)
{
	int y, m, d;

	if (strlen(s) == 10) {
		if (tm_parse_date(s, &y, &m, &d, e) != 0)
			return e->code;
		if (end_of_day)
			tm_add_days(&y, &m, &d, 1);
		*t = tm_day_start(y, m, d);
		return 0;
	}
	return tm_parse(s, t, e);
}

int
tm_now(int64_t *now, struct rv_err *e)
{
	const char *s = getenv("RISERVA_NOW");

	if (s != NULL && *s != '\0') {
		if (tm_parse(s, now, e) != 0) {
			e->code = EX_CONFIG;
			return rv_prefix(e, "RISERVA_NOW: ");
		}
		return 0;
	}
	*now = (int64_t)time(NULL);
	return 0;
}

void
tm_rfc3339(int64_t t, char buf[40])
{
	fmt_offset_time(t, offset_at(t), buf);
}

void
tm_rfc3339_utc(int64_t t, char buf[40])
{
	fmt_offset_time(t, 0, buf);
	snprintf(buf + 19, 21, "Z");
}

void
tm_local(int64_t t, char buf[40])
{
	struct tm tm;

	local_of(t, &tm);
	snprintf(buf, 40, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

void
tm_hhmm(int minute, char buf[8])
{
	snprintf(buf, 8, "%02d:%02d", minute / 60 % 100, minute % 60);
}

int
tm_parse_hhmm(const char *s, int *minute)
{
	const char *p = s;
	int h, m;

	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &m) ||
	    *p != '\0' || m > 59 || h > 24 || (h == 24 && m != 0))
		return 0;
	*minute = h * 60 + m;
	return 1;
}
