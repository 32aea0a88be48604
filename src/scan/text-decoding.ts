/** How a file's bytes were read as text. */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface DecodedText {
  readonly text: string;
  readonly encoding: TextEncoding;
}

// Binary-ness is judged on the first 8 KB, as git does, but by a measure rather than one NUL:
// a text file with a few stray NULs still holds keys a person wrote.
const sampleLength = 8000;
// Above this share of control bytes and invalid UTF-8 in the sample, the bytes are not text:
// compressed or random data scores about 0.5, text with a few stray NULs well under 0.01.
const maxNonTextShare = 0.1;

// 1 for each byte below 0x20 that counts against the file being text; text does hold tab, line
// feed, vertical tab, form feed, carriage return and escape (coloured logs).
const nonTextControl = new Uint8Array(0x20).fill(1);
for (const b of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]) nonTextControl[b] = 0;

interface Signature {
  readonly at: number;
  readonly bytes: readonly number[];
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

// Formats whose opening bytes can pass for text (no control byte early on, or only a few), so the
// measure alone would read them: images, archives, executables, databases, fonts, media.
const binarySignatures: readonly Signature[] = [
  { at: 0, bytes: [0x89, 0x50, 0x4e, 0x47] }, // PNG
  { at: 0, bytes: [0xff, 0xd8, 0xff] }, // JPEG
  { at: 0, bytes: ascii('GIF87a') },
  { at: 0, bytes: ascii('GIF89a') },
  { at: 8, bytes: ascii('WEBP') },
  { at: 8, bytes: ascii('WAVE') },
  { at: 8, bytes: ascii('AVI ') },
  { at: 4, bytes: ascii('ftyp') }, // MP4, MOV, HEIC
  { at: 0, bytes: ascii('OggS') },
  { at: 0, bytes: ascii('fLaC') },
  { at: 0, bytes: ascii('ID3') },
  { at: 0, bytes: [0x00, 0x00, 0x01, 0x00] }, // ICO
  { at: 0, bytes: ascii('II*\0') }, // TIFF
  { at: 0, bytes: ascii('MM\0*') },
  { at: 0, bytes: ascii('wOFF') },
  { at: 0, bytes: ascii('wOF2') },
  { at: 0, bytes: [0x00, 0x01, 0x00, 0x00, 0x00] }, // TrueType
  { at: 0, bytes: ascii('PK\x03\x04') }, // zip, jar, docx, vsix
  { at: 0, bytes: ascii('PK\x05\x06') },
  { at: 0, bytes: ascii('PK\x07\x08') },
  { at: 0, bytes: [0x1f, 0x8b] }, // gzip
  { at: 0, bytes: [0x28, 0xb5, 0x2f, 0xfd] }, // zstd
  { at: 0, bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] }, // xz
  { at: 4, bytes: ascii('1AY&SY') }, // bzip2 after "BZh9"
  { at: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] }, // 7z
  { at: 0, bytes: ascii('Rar!\x1a\x07') },
  { at: 0, bytes: [0x7f, 0x45, 0x4c, 0x46] }, // ELF
  { at: 0, bytes: [0xcf, 0xfa, 0xed, 0xfe] }, // Mach-O
  { at: 0, bytes: [0xce, 0xfa, 0xed, 0xfe] },
  { at: 0, bytes: [0xca, 0xfe, 0xba, 0xbe] }, // Mach-O universal, Java class
  { at: 0, bytes: ascii('\0asm') }, // WebAssembly
  { at: 0, bytes: ascii('SQLite format 3\0') },
];

// Looked up by the byte a signature starts with, so a file costs one map lookup, not a list walk.
const signaturesByLead = new Map<number, Signature[]>();
const leadOf = (at: number, byte: number): number => at * 256 + byte;
for (const s of binarySignatures) {
  const lead = leadOf(s.at, s.bytes[0] ?? 0);
  signaturesByLead.set(lead, [...(signaturesByLead.get(lead) ?? []), s]);
}
const signatureOffsets = [...new Set(binarySignatures.map((s) => s.at))];

function matches(bytes: Uint8Array, s: Signature): boolean {
  if (s.at + s.bytes.length > bytes.length) return false;
  for (let i = 0; i < s.bytes.length; i++) if (bytes[s.at + i] !== s.bytes[i]) return false;
  return true;
}

function hasBinarySignature(bytes: Uint8Array): boolean {
  for (const at of signatureOffsets) {
    const candidates = at < bytes.length ? signaturesByLead.get(leadOf(at, bytes[at] ?? 0)) : undefined;
    if (candidates?.some((s) => matches(bytes, s))) return true;
  }
  return false;
}

function invalidUtf8Count(sample: Uint8Array): number {
  const text = new TextDecoder('utf-8').decode(sample);
  let invalid = 0;
  for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) invalid++;
  return invalid;
}

// BOM-less UTF-16 is recognised by its NULs: ASCII text in UTF-16 LE has a NUL in nearly every
// odd byte and almost none in the even ones (BE the other way round). A few bytes prove nothing.
const minUtf16Nuls = 4;

function utf16ByteOrder(sample: Uint8Array): 'le' | 'be' | undefined {
  let evenNuls = 0;
  let oddNuls = 0;
  for (let i = 0; i + 1 < sample.length; i += 2) {
    if (sample[i] === 0) evenNuls++;
    if (sample[i + 1] === 0) oddNuls++;
  }
  const pairs = sample.length >> 1;
  if (Math.max(evenNuls, oddNuls) < minUtf16Nuls) return undefined;
  if (oddNuls >= pairs / 2 && evenNuls * 8 < oddNuls) return 'le';
  if (evenNuls >= pairs / 2 && oddNuls * 8 < evenNuls) return 'be';
  return undefined;
}

/** UTF-16 text, or undefined when what it decodes to is not text either. */
function decodeUtf16(bytes: Uint8Array, order: 'le' | 'be'): DecodedText | undefined {
  const even = bytes.subarray(0, bytes.length & ~1);
  // Swapped by hand: Node built without full ICU decodes UTF-16 LE only.
  const le = order === 'le' ? even : Buffer.from(even).swap16();
  const text = new TextDecoder('utf-16le').decode(le);
  const end = Math.min(text.length, sampleLength >> 1);
  let nonText = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && nonTextControl[c] === 1) || c === 0xfffd) nonText++;
  }
  return nonText / Math.max(end, 1) > maxNonTextShare ? undefined : { text, encoding: order === 'le' ? 'utf-16le' : 'utf-16be' };
}

/**
 * Reads a file's bytes as text, or returns undefined for binary content: a known binary
 * signature, or a sample that is more than a tenth control bytes and invalid UTF-8. UTF-16
 * (PowerShell's default) is read by its byte-order mark, or without one by its NULs.
 */
export function decodeText(bytes: Uint8Array): DecodedText | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return decodeUtf16(bytes, 'le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return decodeUtf16(bytes, 'be');
  if (hasBinarySignature(bytes)) return undefined;
  const end = Math.min(bytes.length, sampleLength);
  let controls = 0;
  for (let i = 0; i < end; i++) {
    const b = bytes[i] as number;
    if (b < 0x20) controls += nonTextControl[b] as number;
  }
  // The common case, ordinary source: no control byte at all, decoded as before.
  if (controls > 0) {
    const sample = bytes.subarray(0, end);
    const order = utf16ByteOrder(sample);
    if (order) return decodeUtf16(bytes, order);
    if ((controls + invalidUtf8Count(sample)) / end > maxNonTextShare) return undefined;
  }
  return { text: new TextDecoder('utf-8').decode(bytes), encoding: 'utf-8' };
}
