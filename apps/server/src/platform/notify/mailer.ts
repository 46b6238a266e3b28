import nodemailer, { type Transporter } from 'nodemailer';

export interface Mail {
  to: string[];
  subject: string;
  text: string;
}

export interface MailResult {
  ok: boolean;
  /** The SMTP reply code of the last answer, when there was one. */
  code: number | null;
  error: string | null;
}

/** E-mail over SMTP (TETHER_SMTP_URL: smtp://user:pass@host:port, or smtps:// for TLS), with nodemailer. */
export class Mailer {
  private readonly transport: Transporter;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    const url = new URL(smtpUrl);
    this.transport = nodemailer.createTransport({
      host: url.hostname,
      port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 587),
      secure: url.protocol === 'smtps:',
      auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
  }

  async send(mail: Mail): Promise<MailResult> {
    try {
      const info = await this.transport.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text });
      const code = Number(/^(\d{3})/.exec(String(info.response ?? ''))?.[1] ?? 250);
      return { ok: true, code, error: null };
    } catch (err) {
      const e = err as Error & { responseCode?: number };
      return { ok: false, code: e.responseCode ?? null, error: e.message };
    }
  }

  close(): void {
    this.transport.close();
  }
}
