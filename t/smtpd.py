#!/usr/bin/python3
"""smtpd.py — a real SMTP server on loopback for the tests (aiosmtpd).

Binds 127.0.0.1 on a free port and writes the port to --port-file once it
listens. Each message received is written whole to --dir as NNNNNN.eml,
preceded by X-Test-Mail-From and X-Test-Rcpt-To lines; each connection
appends a line to --connections; --accepted is the reply to a message;
--reject and --tempfail refuse a recipient, --reject-sender and
--tempfail-sender the envelope sender, for good or for now; --busy greets
every connection with 421 and closes it, as a loaded or stopping server does,
--refuse with 554, as one that will not serve this client does.
SIGTERM stops it (and writes --count).
"""
import argparse
import asyncio
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.args = args
        self.n = 0

    async def handle_MAIL(self, server, session, envelope, address, options):
        if address in self.args.reject_sender:
            return '550 5.7.1 <%s>: sender rejected' % address
        if address in self.args.tempfail_sender:
            return '451 4.3.0 <%s>: sender check failed, try later' % address
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return '250 2.1.0 OK'

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.args.reject:
            return '550 5.1.1 <%s>: no such mailbox' % address
        if address in self.args.tempfail:
            return '451 4.3.0 <%s>: try again later' % address
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        if self.args.dir:
            name = os.path.join(self.args.dir, '%06d.eml' % self.n)
            head = ('X-Test-Mail-From: %s\r\nX-Test-Rcpt-To: %s\r\n' % (
                envelope.mail_from, ','.join(envelope.rcpt_tos))).encode()
            tmp = name + '.tmp'
            with open(tmp, 'wb') as f:
                f.write(head + envelope.original_content)
            os.rename(tmp, name)
        return self.args.accepted.replace('%d', str(self.n))


class CountingSMTP(SMTP):
    """Counts connections, so a test can see one kept for a batch."""

    def connection_made(self, transport):
        if self.__class__.connections:
            with open(self.__class__.connections, 'a') as f:
                f.write('connect\n')
        if self.__class__.greet:
            transport.write(self.__class__.greet)
            transport.close()
            return
        super().connection_made(transport)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--dir')
    p.add_argument('--port-file', required=True)
    p.add_argument('--connections')
    p.add_argument('--count')
    p.add_argument('--reject', action='append', default=[])
    p.add_argument('--tempfail', action='append', default=[])
    p.add_argument('--reject-sender', action='append', default=[])
    p.add_argument('--tempfail-sender', action='append', default=[])
    p.add_argument('--accepted', default='250 2.0.0 OK: queued as %d',
                   help='the reply to a message; %%d is its number')
    p.add_argument('--auth', help='USER:PASSWORD required')
    p.add_argument('--cert')
    p.add_argument('--key')
    p.add_argument('--smtps', action='store_true')
    p.add_argument('--require-tls', action='store_true')
    p.add_argument('--busy', action='store_true')
    p.add_argument('--refuse', action='store_true')
    args = p.parse_args()

    handler = Handler(args)
    CountingSMTP.connections = args.connections
    CountingSMTP.greet = (
        b'421 4.3.2 smtp.test busy, try again later\r\n' if args.busy else
        b'554 5.7.1 smtp.test: no SMTP service for you\r\n' if args.refuse
        else None)
    ctx = None
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, data):
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, _, password = args.auth.partition(':')
        ok = data.login.decode() == user and data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    def factory():
        kw = dict(hostname='smtp.test', ident='riserva test smtpd')
        if ctx is not None and not args.smtps:
            kw['tls_context'] = ctx
            kw['require_starttls'] = args.require_tls
        if args.auth:
            kw['authenticator'] = authenticator
            kw['auth_required'] = True
            kw['auth_require_tls'] = False
        return CountingSMTP(handler, **kw)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        factory, '127.0.0.1', 0, ssl=ctx if args.smtps else None))
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % port)
    os.rename(tmp, args.port_file)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.run_forever()
    server.close()
    if args.count:
        with open(args.count, 'w') as f:
            f.write('%d\n' % handler.n)
    return 0


if __name__ == '__main__':
    sys.exit(main())
