#!/usr/bin/python3
"""mailcheck.py — strict checks of the messages riserva sends, for the tests.

usage: mailcheck.py FILE...
       mailcheck.py --ics FILE

Each FILE is one message as the SMTP server received it (or as the SendGrid
stub recorded its parts). The message must be RFC 5322/MIME that a strict
reader accepts: CRLF lines of ASCII, the headers riserva promises, RFC 2047
words that decode, quoted-printable lines of at most 76 octets, and any
calendar part must pass our own strict RFC 5545 parser below. Prints one
JSON object per file with what the tests look at; exits 1 naming the first
problem.
"""
import base64
import datetime
import email
import email.header
import email.policy
import email.utils
import json
import re
import sys


class Bad(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Bad(what)


# ---- RFC 5545, strictly ----

NAME = r'[A-Za-z0-9-]+'
PARAM_VALUE = r'(?:"[^"\x00-\x08\x0a-\x1f\x7f]*"|[^";:,\x00-\x08\x0a-\x1f\x7f]*)'
PARAM = r';' + NAME + r'=' + PARAM_VALUE + r'(?:,' + PARAM_VALUE + r')*'
LINE = re.compile(r'^(' + NAME + r')((?:' + PARAM + r')*):(.*)$')
UTC = re.compile(r'^\d{8}T\d{6}Z$')
TEXT_PROPS = {'SUMMARY', 'LOCATION', 'DESCRIPTION', 'COMMENT'}


def unescape_text(v, name):
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == '\\':
            need(i + 1 < len(v) and v[i + 1] in '\\;,nN',
                 '%s: bad escape in %r' % (name, v))
            out.append('\n' if v[i + 1] in 'nN' else v[i + 1])
            i += 2
            continue
        need(c not in ';,', '%s: unescaped %r in TEXT %r' % (name, c, v))
        out.append(c)
        i += 1
    return ''.join(out)


def utc_time(v, name):
    need(UTC.match(v), '%s: %r is not a UTC DATE-TIME' % (name, v))
    return datetime.datetime.strptime(v, '%Y%m%dT%H%M%SZ')


def parse_params(s):
    params = {}
    for m in re.finditer(r';(' + NAME + r')=(' + PARAM_VALUE + r'(?:,' +
                         PARAM_VALUE + r')*)', s):
        key = m.group(1).upper()
        need(key not in params, 'parameter %s twice' % key)
        params[key] = m.group(2).strip('"')
    return params


def parse_ics(data):
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise Bad('calendar: not UTF-8')
    need(text.endswith('\r\n'), 'calendar: does not end in CRLF')
    phys = text[:-2].split('\r\n')
    lines = []
    for p in phys:
        need('\n' not in p and '\r' not in p, 'calendar: a bare CR or LF')
        need(len(p.encode('utf-8')) <= 75,
             'calendar: line longer than 75 octets: %r' % p)
        if p[:1] in (' ', '\t'):
            need(lines, 'calendar: continuation of nothing')
            lines[-1] += p[1:]
        else:
            lines.append(p)
    stack, cal, event, events = [], None, None, []
    for ln in lines:
        m = LINE.match(ln)
        need(m, 'calendar: bad content line %r' % ln)
        name, params, value = m.group(1).upper(), parse_params(m.group(2)), m.group(3)
        if name == 'BEGIN':
            stack.append(value.upper())
            if value.upper() == 'VCALENDAR':
                need(cal is None and len(stack) == 1, 'calendar: nested VCALENDAR')
                cal = {}
            elif value.upper() == 'VEVENT':
                need(stack == ['VCALENDAR', 'VEVENT'], 'calendar: VEVENT misplaced')
                event = {}
            continue
        if name == 'END':
            need(stack and stack[-1] == value.upper(),
                 'calendar: END:%s does not close %s' % (value, stack))
            stack.pop()
            if value.upper() == 'VEVENT':
                events.append(event)
                event = None
            continue
        need(stack, 'calendar: property outside a component')
        target = event if stack[-1] == 'VEVENT' else cal
        if stack[-1] not in ('VEVENT', 'VCALENDAR'):
            continue
        need(name not in target or name == 'ATTENDEE',
             'calendar: %s twice' % name)
        if name in TEXT_PROPS:
            value = unescape_text(value, name)
        if name == 'ATTENDEE':
            target.setdefault(name, []).append((params, value))
        else:
            target[name] = (params, value)
    need(not stack, 'calendar: unclosed %s' % stack)
    need(cal is not None, 'calendar: no VCALENDAR')
    need(cal.get('VERSION', ({}, ''))[1] == '2.0', 'calendar: VERSION is not 2.0')
    need('PRODID' in cal, 'calendar: no PRODID')
    method = cal.get('METHOD', ({}, None))[1]
    need(method in ('REQUEST', 'CANCEL', 'PUBLISH'), 'calendar: METHOD %r' % method)
    need(len(events) == 1, 'calendar: %d VEVENTs' % len(events))
    ev = events[0]
    for req in ('UID', 'DTSTAMP', 'DTSTART', 'SEQUENCE', 'ORGANIZER', 'ATTENDEE'):
        need(req in ev, 'calendar: VEVENT without %s' % req)
    utc_time(ev['DTSTAMP'][1], 'DTSTAMP')
    start = utc_time(ev['DTSTART'][1], 'DTSTART')
    need('DTEND' in ev, 'calendar: VEVENT without DTEND')
    end = utc_time(ev['DTEND'][1], 'DTEND')
    need(end > start, 'calendar: DTEND not after DTSTART')
    need(re.match(r'^\d+$', ev['SEQUENCE'][1]), 'calendar: SEQUENCE not an integer')
    need(ev['ORGANIZER'][1].lower().startswith('mailto:'), 'calendar: ORGANIZER not mailto:')
    for params, v in ev['ATTENDEE']:
        need(v.lower().startswith('mailto:'), 'calendar: ATTENDEE not mailto:')
    status = ev.get('STATUS', ({}, None))[1]
    need(status in ('CONFIRMED', 'CANCELLED', 'TENTATIVE'), 'calendar: STATUS %r' % status)
    need((method == 'CANCEL') == (status == 'CANCELLED'),
         'calendar: METHOD %s with STATUS %s' % (method, status))
    return {
        'method': method,
        'uid': ev['UID'][1],
        'sequence': int(ev['SEQUENCE'][1]),
        'dtstart': ev['DTSTART'][1],
        'dtend': ev['DTEND'][1],
        'status': status,
        'summary': ev.get('SUMMARY', ({}, None))[1],
        'location': ev.get('LOCATION', ({}, None))[1],
        'organizer': ev['ORGANIZER'][1],
        'organizer_cn': ev['ORGANIZER'][0].get('CN'),
        'attendee': ev['ATTENDEE'][0][1],
        'attendee_cn': ev['ATTENDEE'][0][0].get('CN'),
    }


# ---- RFC 5322 / MIME ----

def raw_header(raw, name):
    """A header's value as sent, unfolded."""
    head = raw.partition(b'\r\n\r\n')[0].decode('ascii')
    m = re.search(r'(?m)^' + name + r':([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)',
                  head)
    need(m, 'no %s header' % name)
    return re.sub(r'\r\n(?=[ \t])', '', m.group(1)).strip()


def phrase(value):
    """The display name of "phrase <addr>", decoded as RFC 2047 says:
    white space between two encoded words is not part of the text (the
    email package's own header parser keeps it, so it is not used here)."""
    value = re.sub(r'\s*<[^<>]*>$', '', value)
    if value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    parts = email.header.decode_header(value)
    return str(email.header.make_header(parts))


def check_message(raw):
    need(all(b < 0x80 for b in raw), 'non-ASCII bytes in the message')
    need(b'\n' not in raw.replace(b'\r\n', b''), 'a bare LF')
    need(b'\r' not in raw.replace(b'\r\n', b''), 'a bare CR')
    head, _, body = raw.partition(b'\r\n\r\n')
    for ln in head.split(b'\r\n'):
        need(len(ln) <= 78, 'header line of %d octets: %r' % (len(ln), ln))
    # Quoted-printable and base64 lines, and the parts' own headers.
    for ln in body.split(b'\r\n'):
        need(len(ln) <= 76, 'body line of %d octets: %r' % (len(ln), ln))
        need(not ln.endswith((b' ', b'\t')), 'body line ends in white space')
    policy = email.policy.default.clone(raise_on_defect=True)
    msg = email.message_from_bytes(raw, policy=policy)
    for h in ('Date', 'From', 'To', 'Subject', 'Message-ID', 'MIME-Version'):
        need(len(msg.get_all(h, [])) == 1, 'header %s: not exactly once' % h)
    need(msg['MIME-Version'] == '1.0', 'MIME-Version is not 1.0')
    need(email.utils.parsedate_to_datetime(msg['Date']).tzinfo is not None,
         'Date without a zone')
    need(re.match(r'^<[^<>@\s]+@[^<>@\s]+>$', msg['Message-ID'].strip()),
         'bad Message-ID %r' % msg['Message-ID'])
    out = {
        'envelope_from': msg.get('X-Test-Mail-From'),
        'envelope_to': msg.get('X-Test-Rcpt-To'),
        'date': msg['Date'],
        'from': str(msg['From']),
        'from_addr': msg['From'].addresses[0].addr_spec,
        'from_name': phrase(raw_header(raw, 'From')),
        'to': str(msg['To']),
        'to_addr': msg['To'].addresses[0].addr_spec,
        'to_name': phrase(raw_header(raw, 'To')),
        'reply_to': str(msg['Reply-To']) if msg['Reply-To'] else None,
        'subject': str(msg['Subject']),
        'subject_raw': raw.split(b'\r\nSubject:')[1].split(b'\r\n', 1)[0].decode()
        if b'\r\nSubject:' in raw else None,
        'message_id': msg['Message-ID'].strip(),
        'auto_submitted': msg['Auto-Submitted'],
        'list_unsubscribe': msg['List-Unsubscribe'].strip()
        if msg['List-Unsubscribe'] else None,
        'list_unsubscribe_post': msg['List-Unsubscribe-Post'],
        'body': None,
        'ics': None,
    }
    parts = list(msg.walk()) if msg.is_multipart() else [msg]
    for part in parts:
        ctype = part.get_content_type()
        if ctype.startswith('multipart/'):
            continue
        cte = part.get('Content-Transfer-Encoding', '7bit').lower()
        if ctype == 'text/plain':
            need(out['body'] is None, 'two text/plain parts')
            need(part.get_content_charset() == 'utf-8', 'text/plain not UTF-8')
            need(cte == 'quoted-printable', 'text/plain not quoted-printable')
            out['body'] = part.get_payload(decode=True).decode('utf-8').replace('\r\n', '\n')
        elif ctype == 'text/calendar':
            need(out['ics'] is None, 'two calendar parts')
            need(cte == 'base64', 'text/calendar not base64')
            data = base64.b64decode(part.get_payload(), validate=False)
            ics = parse_ics(data)
            need(part.get_param('method', '').upper() == ics['method'],
                 'the part says method=%s, the file %s' % (
                     part.get_param('method'), ics['method']))
            out['ics'] = ics
        else:
            raise Bad('unexpected part %s' % ctype)
    need(out['body'], 'no text body')
    return out


def main(argv):
    if len(argv) == 3 and argv[1] == '--ics':
        with open(argv[2], 'rb') as f:
            try:
                print(json.dumps(parse_ics(f.read()), sort_keys=True))
            except Bad as e:
                print('%s: %s' % (argv[2], e))
                return 1
        return 0
    for path in argv[1:]:
        with open(path, 'rb') as f:
            raw = f.read()
        try:
            out = check_message(raw)
        except (Bad, email.errors.MessageError, ValueError) as e:
            print('%s: %s' % (path, e))
            return 1
        print(json.dumps(out, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
