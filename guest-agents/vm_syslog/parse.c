/* /dev/log datagrams (RFC 5424, RFC 3164) and /dev/kmsg records ->
 * vmlog_Record (vm_syslog.h). Every length is checked before use; what does
 * not parse is kept as message text, never dropped. */
#include "guest-agents/vm_syslog/vm_syslog.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no libc time zone handling is involved. */
static int64_t vsl_days(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int vsl_num(const char *p, size_t n, size_t at, size_t len, unsigned *out)
{
	unsigned v = 0;

	if (at + len > n)
		return -EINVAL;
	for (size_t i = at; i < at + len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*out = v;
	return 0;
}

int vsl_parse_rfc3339(const char *p, size_t n, int64_t *us)
{
	unsigned y, mo, d, h, mi, s, oh, om;
	int64_t frac = 0, off = 0, t;
	size_t i = 19, digits = 0;

	/* FULL-DATE "T" FULL-TIME (RFC 5424 §6.2.3 / RFC 3339 §5.6). */
	if (vsl_num(p, n, 0, 4, &y) || n < 20 || p[4] != '-' || vsl_num(p, n, 5, 2, &mo) || p[7] != '-' ||
	    vsl_num(p, n, 8, 2, &d) || (p[10] != 'T' && p[10] != 't') || vsl_num(p, n, 11, 2, &h) ||
	    p[13] != ':' || vsl_num(p, n, 14, 2, &mi) || p[16] != ':' || vsl_num(p, n, 17, 2, &s))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return -EINVAL;
	if (i < n && p[i] == '.') {
		/* §6.2.3: at most 6 digits of TIME-SECFRAC. */
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++)
			if (digits < 6)
				frac = frac * 10 + (p[i] - '0');
		if (!digits || digits > 6)
			return -EINVAL;
		for (; digits < 6; digits++)
			frac *= 10;
	}
	if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
		i++;
	} else if (i < n && (p[i] == '+' || p[i] == '-')) {
		if (vsl_num(p, n, i + 1, 2, &oh) || i + 3 >= n || p[i + 3] != ':' || vsl_num(p, n, i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		off = ((int64_t)oh * 60 + om) * 60 * (p[i] == '+' ? 1 : -1);
		i += 6;
	} else {
		return -EINVAL;
	}
	if (i != n)
		return -EINVAL;
	t = vsl_days(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + (s > 59 ? 59 : s) - off;
	*us = t * 1000000 + frac;
	return 0;
}

static void vsl_set_msg(vmlog_Record *r, const uint8_t *p, size_t n)
{
	/* Senders often end with a newline; it is not part of the text. */
	while (n && (p[n - 1] == '\n' || p[n - 1] == 0))
		n--;
	if (n > sizeof(r->msg.bytes)) {
		n = sizeof(r->msg.bytes);
		r->truncated = true;
	}
	memcpy(r->msg.bytes, p, n);
	r->msg.size = (pb_size_t)n;
}

/* "<PRI>" (RFC 5424 §6.2.1: 1-3 digits, 0..191, no leading zeros except
 * "<0>"). Returns the bytes used, 0 when absent or malformed. */
static size_t vsl_pri(const uint8_t *p, size_t n, unsigned *pri)
{
	unsigned v = 0;
	size_t i = 1;

	if (n < 3 || p[0] != '<')
		return 0;
	for (; i < n && i <= 4 && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (p[i] - '0');
	if (i == 1 || i > 4 || i >= n || p[i] != '>' || v > 191 || (p[1] == '0' && i > 2))
		return 0;
	*pri = v;
	return i + 1;
}

/* One space-delimited RFC 5424 header field at *at; "-" is NILVALUE and
 * gives "". Returns 0, or -EINVAL when missing or longer than max. */
static int vsl_field(const uint8_t *p, size_t n, size_t *at, char *out, size_t max)
{
	size_t i = *at, l = 0;

	while (i + l < n && p[i + l] != ' ')
		l++;
	if (!l || l > max)
		return -EINVAL;
	if (out) {
		if (l == 1 && p[i] == '-')
			out[0] = 0;
		else {
			for (size_t k = 0; k < l; k++)  /* PRINTUSASCII only (§6) */
				out[k] = (p[i + k] > 32 && p[i + k] < 127) ? (char)p[i + k] : '_';
			out[l] = 0;
		}
	}
	*at = i + l + (i + l < n);  /* and the SP after it */
	return 0;
}

/* STRUCTURED-DATA (RFC 5424 §6.3): "-" or SD-ELEMENTs "[id k="v"...]" with
 * \" \\ \] escapes inside values. Returns 0 with *at after it, else -EINVAL. */
static int vsl_sd(const uint8_t *p, size_t n, size_t *at, vmlog_Record *r)
{
	size_t i = *at, start = i;

	if (i < n && p[i] == '-') {
		r->sd[0] = 0;
		*at = i + 1 + (i + 1 < n && p[i + 1] == ' ');
		return (i + 1 == n || p[i + 1] == ' ') ? 0 : -EINVAL;
	}
	if (i >= n || p[i] != '[')
		return -EINVAL;
	while (i < n && p[i] == '[') {
		int quoted = 0;
		for (i++; i < n; i++) {
			if (quoted && p[i] == '\\' && i + 1 < n) {
				i++;
				continue;
			}
			if (p[i] == '"')
				quoted = !quoted;
			else if (!quoted && p[i] == ']')
				break;
		}
		if (i >= n)
			return -EINVAL;
		i++;
	}
	if (i < n && p[i] != ' ')
		return -EINVAL;
	if (i - start >= sizeof(r->sd)) {
		memcpy(r->sd, p + start, sizeof(r->sd) - 1);
		r->sd[sizeof(r->sd) - 1] = 0;
		r->truncated = true;
	} else {
		memcpy(r->sd, p + start, i - start);
		r->sd[i - start] = 0;
	}
	*at = i + (i < n);
	return 0;
}

static int vsl_parse_5424(const uint8_t *p, size_t n, size_t at, int64_t now_us, vmlog_Record *r)
{
	char procid[129], ts[40];
	unsigned pid = 0;

	/* VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD */
	if (vsl_field(p, n, &at, NULL, 2) || vsl_field(p, n, &at, ts, sizeof(ts) - 1))
		return -EINVAL;
	if (!ts[0])
		r->time_us = now_us;
	else if (vsl_parse_rfc3339(ts, strlen(ts), &r->time_us))
		return -EINVAL;
	if (vsl_field(p, n, &at, NULL, 255) || vsl_field(p, n, &at, r->app, 48) ||
	    vsl_field(p, n, &at, procid, 128) || vsl_field(p, n, &at, r->msgid, 32) || vsl_sd(p, n, &at, r))
		return -EINVAL;
	for (const char *c = procid; *c; c++) {
		if (*c < '0' || *c > '9' || pid > 400000000) {
			pid = 0;
			break;
		}
		pid = pid * 10 + (unsigned)(*c - '0');
	}
	r->pid = pid;
	/* §6.4: an optional UTF-8 BOM starts MSG. */
	if (n - at >= 3 && p[at] == 0xef && p[at + 1] == 0xbb && p[at + 2] == 0xbf)
		at += 3;
	vsl_set_msg(r, p + at, n - at);
	return 0;
}

/* "TAG[PID]: " or "TAG: " at the start of a message (RFC 3164 §4.1.3,
 * glibc/musl syslog()): fills app and pid, returns the bytes used; 0 when
 * the text does not start with a tag. */
static size_t vsl_tag(const uint8_t *p, size_t n, vmlog_Record *r)
{
	size_t i = 0, l;
	unsigned pid = 0;

	while (i < n && i <= 48 && p[i] > 32 && p[i] < 127 && p[i] != '[' && p[i] != ':')
		i++;
	l = i;
	if (!l || l > 48 || i >= n)
		return 0;
	if (p[i] == '[') {
		size_t d = 0;
		for (i++; i < n && p[i] >= '0' && p[i] <= '9' && d < 10; i++, d++)
			pid = pid * 10 + (unsigned)(p[i] - '0');
		if (!d || i >= n || p[i] != ']')
			return 0;
		i++;
	}
	if (i >= n || p[i] != ':')
		return 0;
	i++;
	if (i < n && p[i] == ' ')
		i++;
	memcpy(r->app, p, l);
	r->app[l] = 0;
	r->pid = pid;
	return i;
}

/* RFC 3164 §4.1.2 TIMESTAMP "Mmm dd hh:mm:ss" (no year, local time: the
 * guest runs in UTC). The year is now's; a date ahead of now by more than
 * a day belongs to last year. Returns 0 or -EINVAL. */
static int vsl_3164_time(const uint8_t *p, size_t n, int64_t now_us, int64_t *us)
{
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	time_t now = (time_t)(now_us / 1000000);
	unsigned d, h, mi, s, m;
	char buf[16];
	struct tm tm;
	int64_t t;

	if (n < 16 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' || p[12] != ':' || p[15] != ' ')
		return -EINVAL;
	memcpy(buf, p, 15);
	buf[15] = 0;
	for (m = 0; m < 12 && memcmp(buf, mon + 3 * m, 3); m++)
		;
	if (buf[4] == ' ')
		buf[4] = '0';  /* "Oct  1" */
	if (m == 12 || vsl_num(buf, 15, 4, 2, &d) || vsl_num(buf, 15, 7, 2, &h) || vsl_num(buf, 15, 10, 2, &mi) ||
	    vsl_num(buf, 15, 13, 2, &s) || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return -EINVAL;
	if (!gmtime_r(&now, &tm))
		return -EINVAL;
	t = vsl_days(tm.tm_year + 1900, m + 1, d) * 86400 + (int64_t)h * 3600 + mi * 60 + (s > 59 ? 59 : s);
	if (t > (int64_t)now + 86400)
		t = vsl_days(tm.tm_year + 1899, m + 1, d) * 86400 + (int64_t)h * 3600 + mi * 60 + (s > 59 ? 59 : s);
	*us = t * 1000000;
	return 0;
}

void vsl_parse_devlog(const uint8_t *p, size_t n, int64_t now_us, vmlog_Record *r)
{
	unsigned pri = 13;  /* RFC 3164 §4.3.3: user.notice when absent */
	size_t at = vsl_pri(p, n, &pri);

	memset(r, 0, sizeof(*r));
	r->facility = pri >> 3;
	r->severity = pri & 7;
	r->time_us = now_us;
	if (at && n - at >= 2 && p[at] == '1' && p[at + 1] == ' ') {
		vmlog_Record t = *r;
		if (vsl_parse_5424(p, n, at, now_us, &t) == 0) {
			*r = t;
			return;
		}
	}
	/* RFC 3164: [TIMESTAMP SP] [TAG[PID]: ] MSG. From /dev/log there is no
	 * HOSTNAME (libc syslog() does not send one). */
	if (at && vsl_3164_time(p + at, n - at, now_us, &r->time_us) == 0)
		at += 16;
	at += vsl_tag(p + at, n - at, r);
	vsl_set_msg(r, p + at, n - at);
}

/* Append a dev-kmsg continuation line " KEY=VALUE" to sd as an RFC 5424
 * SD-PARAM of element "kmsg" (values escaped per §6.3.3). */
static void vsl_kmsg_dict(vmlog_Record *r, const char *p, size_t n)
{
	char tmp[sizeof(r->sd)];
	size_t o = strlen(r->sd), t = 0, eq;

	for (eq = 0; eq < n && p[eq] != '='; eq++)
		;
	if (!eq || eq >= n || eq > 32)
		return;
	if (o) {
		o--;  /* reopen the element: its ']' is written again below */
	} else {
		memcpy(tmp, "[kmsg", 5);
		t = 5;
	}
	tmp[t++] = ' ';
	for (size_t i = 0; i < eq; i++)  /* SD-NAME: PRINTUSASCII but = SP ] " */
		tmp[t++] = (p[i] > 32 && p[i] < 127 && p[i] != ']' && p[i] != '"') ? p[i] : '_';
	tmp[t++] = '=';
	tmp[t++] = '"';
	for (size_t i = eq + 1; i < n && t + 4 < sizeof(tmp); i++) {
		if (p[i] == '"' || p[i] == '\\' || p[i] == ']')
			tmp[t++] = '\\';
		tmp[t++] = p[i];
	}
	tmp[t++] = '"';
	tmp[t++] = ']';
	if (o + t >= sizeof(r->sd)) {
		r->truncated = true;
		return;
	}
	memcpy(r->sd + o, tmp, t);
	r->sd[o + t] = 0;
}

int vsl_parse_kmsg(const char *p, size_t n, int64_t boot_to_wall_us, uint64_t *kseq, vmlog_Record *r)
{
	unsigned long long f[3] = { 0, 0, 0 };
	size_t i = 0, end;
	int k;

	/* "PRI,SEQ,TS_US,FLAGS[,...];" (Documentation/ABI/testing/dev-kmsg). */
	for (k = 0; k < 3; k++) {
		size_t d = 0;
		for (; i < n && p[i] >= '0' && p[i] <= '9' && d < 20; i++, d++) {
			if (f[k] > (~0ull - 9) / 10)
				return -EINVAL;
			f[k] = f[k] * 10 + (unsigned long long)(p[i] - '0');
		}
		if (!d || i >= n || p[i] != ',')
			return -EINVAL;
		i++;
	}
	while (i < n && p[i] != ';')
		i++;
	if (i >= n || f[0] > 1023)
		return -EINVAL;
	i++;
	memset(r, 0, sizeof(*r));
	r->source = vmlog_Source_KMSG;
	/* PRI is facility << 3 | level; facilities above 23 are folded. */
	r->facility = (uint32_t)(f[0] >> 3) > 23 ? 1 : (uint32_t)(f[0] >> 3);
	r->severity = (uint32_t)(f[0] & 7);
	r->boot_us = f[2];
	r->time_us = boot_to_wall_us + (int64_t)f[2];
	*kseq = f[1];
	for (end = i; end < n && p[end] != '\n'; end++)
		;
	if (r->facility == 0) {
		strcpy(r->app, "kernel");
		vsl_set_msg(r, (const uint8_t *)p + i, end - i);
	} else {
		/* Userspace writing to /dev/kmsg ("init: ..."): its tag. */
		size_t t = vsl_tag((const uint8_t *)p + i, end - i, r);
		vsl_set_msg(r, (const uint8_t *)p + i + t, end - i - t);
	}
	/* Continuation lines: " KEY=VALUE\n" each. */
	while (end < n) {
		size_t s = end + 1, e;
		if (s >= n || p[s] != ' ')
			break;
		for (e = s; e < n && p[e] != '\n'; e++)
			;
		vsl_kmsg_dict(r, p + s + 1, e - s - 1);
		end = e;
	}
	return 0;
}
