import { SignJWT, jwtVerify, errors } from 'jose';

export interface SigningKey {
  kid: string;
  key: Uint8Array;
}

/** The keys of an install: one signs, every one still kept verifies (rotation). */
export interface SigningKeySource {
  current(): Promise<SigningKey>;
  find(kid: string): Promise<SigningKey | null>;
  /** Changes whenever a key is dropped, so a cache of verified tokens knows to check again. */
  readonly generation: number;
}

/** Tokens signed before keys had ids carry no `kid`: they verify with the key kept under this id. */
export const LEGACY_KID = 'legacy';

/** One fixed key (unit tests). */
export function fixedKey(secret: string, kid = 'fixed'): SigningKeySource {
  const key = { kid, key: new TextEncoder().encode(secret) };
  return { current: async () => key, find: async (k) => (k === kid ? key : null), generation: 0 };
}

/** HS256 signing for user access tokens and device JWTs; the key id goes in each token's header. */
export class JwtSigner {
  constructor(
    private readonly keys: SigningKeySource,
    private readonly issuer = 'tether',
  ) {}

  get generation(): number {
    return this.keys.generation;
  }

  async sign(claims: Record<string, unknown>, subject: string, audience: string, ttlSeconds: number): Promise<string> {
    const { kid, key } = await this.keys.current();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
      .setSubject(subject)
      .setAudience(audience)
      .setIssuer(this.issuer)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(key);
  }

  /** Returns the claims, 'expired', or null for anything invalid (an unknown or dropped key included). */
  async verify(token: string, audience: string): Promise<(Record<string, unknown> & { sub: string; exp: number }) | 'expired' | null> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const found = await this.keys.find(header.kid ?? LEGACY_KID);
          if (!found) throw new Error('unknown key id');
          return found.key;
        },
        { audience, issuer: this.issuer, algorithms: ['HS256'] },
      );
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return null;
      return payload as Record<string, unknown> & { sub: string; exp: number };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return 'expired';
      return null;
    }
  }
}

export const looksLikeJwt = (s: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(s);
