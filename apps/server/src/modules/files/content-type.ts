import { fileTypeFromBuffer } from 'file-type';

/** How many leading bytes the type is read from (file-type's own sample size). */
export const SNIFF_BYTES = 4100;

const MEDIA = /^(image|video|audio)\//;
const TEXTUAL = /^(text\/[a-z0-9.+-]+|application\/(json|x-ndjson|csv|xml|x-yaml))$/;

export type TypeVerdict = { ok: true; contentType: string } | { ok: false; detected: string | null };

/**
 * The content type of a file, from its first bytes rather than what the device said: a known
 * format (image, video, audio, archive… by its signature) is that type. A file whose declared
 * type is media must be that kind of media: a "video" that is an executable, or no known
 * format at all, is refused. Bytes with no signature are text if they decode as UTF-8 with no
 * NUL (a log, a CSV: the declared textual type, else text/plain), and otherwise octets.
 */
export async function checkContentType(head: Buffer, declared: string | null): Promise<TypeVerdict> {
  const want = declared?.split(';')[0]!.trim().toLowerCase() || null;
  const found = head.length ? await fileTypeFromBuffer(head) : undefined;
  if (found) {
    if (want && MEDIA.test(want) && want.split('/')[0] !== found.mime.split('/')[0]) return { ok: false, detected: found.mime };
    return { ok: true, contentType: found.mime };
  }
  if (want && MEDIA.test(want)) return { ok: false, detected: null };
  if (looksLikeText(head)) return { ok: true, contentType: want && TEXTUAL.test(want) ? want : 'text/plain' };
  return { ok: true, contentType: 'application/octet-stream' };
}

function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  // A sample may end inside a multi-byte character: drop up to 3 trailing bytes of one.
  for (let cut = 0; cut <= Math.min(3, head.length); cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // try a shorter sample
    }
  }
  return false;
}

/** Media a page shows in place (the alert's player and thumbnails); everything else downloads. */
export const isInlineMedia = (contentType: string) => MEDIA.test(contentType);
