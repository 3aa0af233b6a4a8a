#!/usr/bin/python3
"""sendgrid_stub.py — the SendGrid v3 mail-send API on loopback, for tests.

POST /v3/mail/send with "Authorization: Bearer KEY" and a JSON body is
checked the way the API checks it (personalizations, from, subject,
content, attachments in base64) and answered 202 with an X-Message-Id;
a bad key gets 401, a bad body or a --reject address 400 with the API's
{"errors": [...]} shape (--reject-message its words), and the first --throttle requests 429 with
Retry-After: --retry-after, the first --fail ones (after those) 503 with
an HTML page, as the load balancer in front of the API answers.
Every request is appended to --log as one JSON
line: the status given and the body sent. Binds 127.0.0.1 on a free port
and writes it to --port-file.
"""
import argparse
import base64
import binascii
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def errors(message, field=None):
    return {'errors': [{'message': message, 'field': field, 'help': None}]}


def validate(body, reject, reject_message=None):
    """The first problem with a mail-send body, as (message, field)."""
    pers = body.get('personalizations')
    if not isinstance(pers, list) or not pers:
        return ('You must have at least one personalization.',
                'personalizations')
    to = pers[0].get('to')
    if not isinstance(to, list) or not to or 'email' not in to[0]:
        return ('The to array is required for all personalization objects,'
                ' and must have at least one email object with a valid '
                'email address.', 'personalizations.0.to')
    if to[0]['email'] in reject:
        return (reject_message or 'Does not contain a valid address.',
                'personalizations.0.to.0.email')
    if not isinstance(body.get('from'), dict) or 'email' not in body['from']:
        return ('The from object must be provided for every email send.',
                'from')
    if not isinstance(body.get('subject'), str) or not body['subject']:
        return ('The subject is required.', 'subject')
    content = body.get('content')
    if not isinstance(content, list) or not content or not all(
            isinstance(c.get('value'), str) and c.get('value') and
            isinstance(c.get('type'), str) for c in content):
        return ('The content value must be a string at least one '
                'character in length.', 'content.0.value')
    for i, a in enumerate(body.get('attachments', [])):
        try:
            base64.b64decode(a['content'], validate=True)
        except (KeyError, binascii.Error):
            return ('The attachment content must be base64 encoded.',
                    'attachments.%d.content' % i)
        if not a.get('filename'):
            return ('The attachment filename is required.',
                    'attachments.%d.filename' % i)
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, obj=None, headers=()):
        data = json.dumps(obj).encode() if obj is not None else b''
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if obj is not None:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    def do_POST(self):
        srv = self.server
        n = int(self.headers.get('Content-Length', '0'))
        raw = self.rfile.read(n)
        srv.count += 1
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if self.path != '/v3/mail/send':
            status = self.reply(404, errors('not found'))
        elif self.headers.get('Authorization') != 'Bearer ' + srv.args.key:
            status = self.reply(401, errors(
                'The provided authorization grant is invalid, expired, '
                'or revoked'))
        elif srv.count <= srv.args.throttle:
            status = self.reply(429, errors('too many requests'), [
                ('Retry-After', str(srv.args.retry_after))])
        elif srv.count <= srv.args.throttle + srv.args.fail:
            # As a load balancer in front of the API answers: HTML.
            data = (b'<html>\r\n<head><title>503 Service Temporarily '
                    b'Unavailable</title></head>\r\n<body></body>\r\n'
                    b'</html>\r\n')
            self.send_response(503)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            status = 503
        elif not isinstance(body, dict):
            status = self.reply(400, errors('Bad Request', None))
        else:
            problem = validate(body, srv.args.reject,
                               srv.args.reject_message)
            if problem:
                status = self.reply(400, errors(*problem))
            else:
                srv.accepted += 1
                status = self.reply(202, None, [
                    ('X-Message-Id', 'stub-%d' % srv.accepted)])
        with open(srv.args.log, 'a') as f:
            f.write(json.dumps({'n': srv.count, 'status': status,
                                'body': body}) + '\n')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--port-file', required=True)
    p.add_argument('--log', required=True)
    p.add_argument('--key', required=True)
    p.add_argument('--throttle', type=int, default=0)
    p.add_argument('--retry-after', type=int, default=1)
    p.add_argument('--fail', type=int, default=0)
    p.add_argument('--reject', action='append', default=[])
    p.add_argument('--reject-message', help='the API\'s words for --reject')
    args = p.parse_args()
    srv = HTTPServer(('127.0.0.1', 0), Handler)
    srv.args, srv.count, srv.accepted = args, 0, 0
    tmp = args.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % srv.server_address[1])
    os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    srv.serve_forever()


if __name__ == '__main__':
    main()
