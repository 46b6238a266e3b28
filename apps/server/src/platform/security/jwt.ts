import { SignJWT, jwtVerify, errors } from 'jose';

/** HS256 signing for user access tokens and device JWTs, with a per-install secret. */
export class JwtSigner {
  private readonly key: Uint8Array;
  constructor(secret: string, private readonly issuer = 'tether') {
    this.key = new TextEncoder().encode(secret);
  }

  sign(claims: Record<string, unknown>, subject: string, audience: string, ttlSeconds: number): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject)
      .setAudience(audience)
      .setIssuer(this.issuer)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.key);
  }

  /** Returns the claims, 'expired', or null for anything invalid. */
  async verify(token: string, audience: string): Promise<(Record<string, unknown> & { sub: string; exp: number }) | 'expired' | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { audience, issuer: this.issuer, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return null;
      return payload as Record<string, unknown> & { sub: string; exp: number };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return 'expired';
      return null;
    }
  }
}

export const looksLikeJwt = (s: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(s);
