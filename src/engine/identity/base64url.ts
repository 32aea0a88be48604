// A compact JWS is base64url without padding (RFC 7515), and an encoder sets the bits left over in
// the last character to zero (RFC 4648, section 3.5). Lenient decoders, jose's included, ignore
// both, so one signed token has many spellings: anything keyed on the token's text (a cache, a
// revocation list, a replay check) would then see several tokens where the issuer signed one.

export type SegmentEncoding = 'canonical' | 'non-canonical' | 'malformed';

const alphabet = /^[A-Za-z0-9_-]*={0,2}$/;

/** Whether a JWS segment is base64url at all, and if so whether it is the one spelling of its bytes. */
export function segmentEncoding(segment: string): SegmentEncoding {
  if (!alphabet.test(segment)) return 'malformed';
  const unpadded = segment.replace(/=+$/, '');
  // One character left over holds only 6 bits, less than a byte: no encoder writes it.
  if (unpadded.length % 4 === 1) return 'malformed';
  return Buffer.from(unpadded, 'base64url').toString('base64url') === segment ? 'canonical' : 'non-canonical';
}
