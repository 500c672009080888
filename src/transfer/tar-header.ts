/**
 * Encodes the 512-byte headers of a POSIX (ustar + pax) tar archive, written straight into the
 * caller's buffer: `jumpgate push` packs thousands of small files, and a general-purpose tar
 * library's per-entry objects, streams and copies cost more CPU than the SSH transport itself.
 *
 * What fits ustar's fields goes there (`tar -c` of GNU tar writes the same for such entries).
 * What does not (a name or link target that is not ASCII or too long, a size of 8 GiB or more, a
 * uid/gid/mtime out of range) is carried by a pax extended header ('x') before the entry, as
 * POSIX.1-2001 says; GNU tar, bsdtar and busybox tar read them.
 */

export type TarEntryType = "file" | "directory" | "symlink" | "link";

export interface TarHeaderFields {
  /** Archive name, e.g. `./dir/file` (directories end with `/`). */
  name: string;
  type: TarEntryType;
  /** Permission bits (0o7777 at most). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (0 for everything but files). */
  size: number;
  mtime: Date;
  /** Symlink target, or the archive name a hard link points to. */
  linkname?: string;
}

export const BLOCK = 512;

const TYPEFLAG: Readonly<Record<TarEntryType, number>> = {
  file: 0x30, // '0'
  link: 0x31, // '1'
  symlink: 0x32, // '2'
  directory: 0x35, // '5'
};
const PAX_TYPEFLAG = 0x78; // 'x'

// Field offsets and widths of the ustar header.
const NAME = 0;
const NAME_LEN = 100;
const MODE = 100;
const UID = 108;
const GID = 116;
const SIZE = 124;
const MTIME = 136;
const CHKSUM = 148;
const TYPE = 156;
const LINKNAME = 157;
const MAGIC = 257;
const PREFIX = 345;
const PREFIX_LEN = 155;

/** Largest values of the octal fields: 7 digits (mode, uid, gid), 11 digits (size, mtime). */
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

/** Rounds a data length up to whole blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Splits an ASCII name into ustar's prefix and name fields, or undefined when it cannot. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (name.length <= NAME_LEN) return { prefix: "", name };
  // The prefix ends at a '/', is at most 155 bytes, and leaves at most 100 bytes of name.
  let slash = name.indexOf("/", name.length - NAME_LEN - 1);
  while (slash !== -1) {
    if (slash > PREFIX_LEN) return undefined;
    const rest = name.slice(slash + 1);
    if (rest.length > 0 && rest.length <= NAME_LEN) return { prefix: name.slice(0, slash), name: rest };
    slash = name.indexOf("/", slash + 1);
  }
  return undefined;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** One pax record: "<length> <key>=<value>\n", where length counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  // The smallest length that equals the body plus the length's own digits.
  let length = bodyBytes + 1;
  while (length !== bodyBytes + String(length).length) length++;
  return `${length}${body}`;
}

/** The ustar fields of an entry, and the pax records for what does not fit them. */
function plan(h: TarHeaderFields): { ustarName: { prefix: string; name: string }; pax: string } {
  let pax = "";
  let ustarName = isAscii(h.name) ? splitName(h.name) : undefined;
  if (ustarName === undefined) {
    pax += paxRecord("path", h.name);
    // A stand-in for readers without pax (see fallbackName).
    ustarName = { prefix: "", name: fallbackName(h.name, h.type === "directory" ? "/" : "") };
  }
  if (h.linkname !== undefined && (!isAscii(h.linkname) || h.linkname.length > NAME_LEN)) {
    pax += paxRecord("linkpath", h.linkname);
  }
  if (h.size > MAX_OCTAL_11) pax += paxRecord("size", String(h.size));
  if (h.uid > MAX_OCTAL_7 || h.uid < 0) pax += paxRecord("uid", String(Math.max(0, h.uid)));
  if (h.gid > MAX_OCTAL_7 || h.gid < 0) pax += paxRecord("gid", String(Math.max(0, h.gid)));
  const seconds = Math.floor(h.mtime.getTime() / 1000);
  if (seconds < 0 || seconds > MAX_OCTAL_11) pax += paxRecord("mtime", String(seconds));
  return { ustarName, pax };
}

/**
 * The ustar name of an entry whose real name is in a pax record, and of the pax block itself
 * (`./PaxHeaders/<name>`, as GNU tar names it): only readers that do not know pax see these, so
 * they are built from the last component alone, printable ASCII, never absolute and never `..`,
 * and such a reader can at worst put a file under an odd name in the destination's top level.
 */
function fallbackName(name: string, suffix = "", dir = "./"): string {
  const last =
    name
      .split("/")
      .filter((p) => p !== "")
      .pop() ?? "";
  let base = last.replace(/[^ -~]/g, "_");
  if (base === "" || base === "." || base === "..") base = "_";
  const room = NAME_LEN - dir.length - suffix.length;
  return `${dir}${base.length <= room ? base : base.slice(base.length - room)}${suffix}`;
}

/** Bytes `writeHeader` will write for this entry (512, or more with a pax header). */
export function headerBytes(h: TarHeaderFields): number {
  const { pax } = plan(h);
  return pax === "" ? BLOCK : BLOCK + padded(Buffer.byteLength(pax)) + BLOCK;
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  // width - 1 digits, then a NUL: GNU tar's layout.
  const digits = width - 1;
  const text = Math.trunc(value).toString(8);
  buf.write(text.length > digits ? "7".repeat(digits) : text.padStart(digits, "0"), offset, "latin1");
  buf[offset + digits] = 0;
}

/** Writes one ustar header block at `offset` (the 512 bytes must be available). */
function writeUstar(
  buf: Buffer,
  offset: number,
  fields: { prefix: string; name: string },
  h: TarHeaderFields,
  typeflag: number,
  size: number,
): void {
  buf.fill(0, offset, offset + BLOCK);
  buf.write(fields.name, offset + NAME, NAME_LEN, "latin1");
  writeOctal(buf, offset + MODE, 8, h.mode & 0o7777);
  writeOctal(buf, offset + UID, 8, Math.min(Math.max(0, h.uid), MAX_OCTAL_7));
  writeOctal(buf, offset + GID, 8, Math.min(Math.max(0, h.gid), MAX_OCTAL_7));
  writeOctal(buf, offset + SIZE, 12, Math.min(size, MAX_OCTAL_11));
  const seconds = Math.floor(h.mtime.getTime() / 1000);
  writeOctal(buf, offset + MTIME, 12, Math.min(Math.max(0, seconds), MAX_OCTAL_11));
  buf[offset + TYPE] = typeflag;
  if (h.linkname !== undefined && typeflag !== PAX_TYPEFLAG) {
    // A link target that needs pax is still given here, cut, for readers without pax.
    buf.write(h.linkname, offset + LINKNAME, NAME_LEN, "utf8");
  }
  buf.write("ustar\u000000", offset + MAGIC, 8, "latin1");
  if (fields.prefix !== "") buf.write(fields.prefix, offset + PREFIX, PREFIX_LEN, "latin1");
  // The checksum is computed with its own field read as eight spaces.
  buf.fill(0x20, offset + CHKSUM, offset + CHKSUM + 8);
  let sum = 0;
  for (let i = offset; i < offset + BLOCK; i++) sum += buf[i] as number;
  buf.write(sum.toString(8).padStart(6, "0"), offset + CHKSUM, 6, "latin1");
  buf[offset + CHKSUM + 6] = 0;
  buf[offset + CHKSUM + 7] = 0x20;
}

/**
 * Writes the header(s) of an entry at `offset` of `buf` and returns the bytes written
 * (`headerBytes(h)` of them, which the caller made room for).
 */
export function writeHeader(buf: Buffer, offset: number, h: TarHeaderFields): number {
  const { ustarName, pax } = plan(h);
  let at = offset;
  if (pax !== "") {
    const paxLength = Buffer.byteLength(pax);
    writeUstar(
      buf,
      at,
      { prefix: "", name: fallbackName(h.name, "", "./PaxHeaders/") },
      h,
      PAX_TYPEFLAG,
      paxLength,
    );
    at += BLOCK;
    buf.fill(0, at, at + padded(paxLength));
    buf.write(pax, at, "utf8");
    at += padded(paxLength);
  }
  writeUstar(buf, at, ustarName, h, TYPEFLAG[h.type], h.size);
  return at + BLOCK - offset;
}
