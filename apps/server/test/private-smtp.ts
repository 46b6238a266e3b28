/**
 * A real SMTP listener (`smtp-server`) on a free port that keeps every e-mail it
 * receives: what Tether's nodemailer sends alarm, invitation and reset mail to in tests.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  raw: string;
}

export interface PrivateSmtp {
  /** For TETHER_SMTP_URL. */
  url: string;
  /** Every e-mail received, in order. */
  mails: ReceivedMail[];
  close(): Promise<void>;
}

export async function startSmtp(): Promise<PrivateSmtp> {
  const mails: ReceivedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  return {
    url: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
    mails,
    close: () => new Promise((r) => smtp.close(() => r())),
  };
}
