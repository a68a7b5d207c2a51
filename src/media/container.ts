/**
 * Container sniffing: the magic bytes of a file decide which demuxer ffmpeg may use (mp4/mov or matroska/webm only),
 * so a playlist or concat list — text that names other files — never reaches a demuxer that would open them.
 */
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import { VrGrpoError } from '../errors/index.js';

/** The container families ffmpeg may read, by the demuxer name forced with `-f`. */
export type ContainerFormat = 'mov' | 'matroska';

/** Demuxers ffmpeg/ffprobe may use at all (`-format_whitelist`): the mov family and the matroska family. */
export const FORMAT_WHITELIST = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm';
/** Protocols ffmpeg/ffprobe may use (`-protocol_whitelist`): plain files, nothing that reaches the network. */
export const PROTOCOL_WHITELIST = 'file';

/** Bytes read to sniff a container. */
const SNIFF_BYTES = 64;

/** ISO-BMFF / QuickTime top-level box types a file may start with. */
const MOV_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'uuid']);
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;

/**
 * Text formats that name other files or URLs: HLS (`#EXTM3U`), ffconcat, DASH manifests, SDP, PLS playlists. Matched
 * after an optional UTF-8 BOM (read as latin1 bytes) and leading whitespace, case-insensitively.
 */
const PLAYLIST = /^(?:\u00EF\u00BB\u00BF)?\s*(?:#EXTM3U|#EXT-X-|ffconcat|file\s|<\?xml|<MPD|v=0|\[playlist\])/i;

/** What the first bytes of a file say. */
export type SniffResult = { readonly kind: 'container'; readonly format: ContainerFormat } | { readonly kind: 'playlist' } | { readonly kind: 'unknown' };

/** Classifies `head` (the first bytes of a file). */
export function sniffBytes(head: Uint8Array): SniffResult {
  if (head.length >= 8) {
    const box = String.fromCharCode(head[4] ?? 0, head[5] ?? 0, head[6] ?? 0, head[7] ?? 0);
    if (MOV_BOXES.has(box)) return { kind: 'container', format: 'mov' };
  }
  if (EBML_MAGIC.every((byte, i) => head[i] === byte)) return { kind: 'container', format: 'matroska' };
  const text = Buffer.from(head.buffer, head.byteOffset, head.length).toString('latin1');
  if (PLAYLIST.test(text)) return { kind: 'playlist' };
  return { kind: 'unknown' };
}

/**
 * The container of `file` (an absolute path to a regular file), from its first bytes. A playlist or concat list is
 * FORBIDDEN_PATH (it would make ffmpeg open the files it names, inside the artifact root or not); any other format
 * outside the whitelist, or an unreadable file, is VIDEO_DECODE_FAILED.
 */
export async function sniffContainer(file: string): Promise<ContainerFormat> {
  let head: Uint8Array;
  try {
    // O_NONBLOCK: a file swapped for a FIFO since it was checked cannot hang the open.
    const handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const buffer = Buffer.alloc(SNIFF_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new VrGrpoError('VIDEO_DECODE_FAILED', `video file cannot be read: ${file}`, {
      details: { path: file, reason: 'unreadable', stderrTail: '' },
      cause: error,
    });
  }
  const sniffed = sniffBytes(head);
  if (sniffed.kind === 'container') return sniffed.format;
  if (sniffed.kind === 'playlist') {
    throw new VrGrpoError('FORBIDDEN_PATH', 'video file is a playlist or concat list (only mp4/mov and webm/matroska files are read)', {
      details: { path: file, reason: 'playlist' },
    });
  }
  throw new VrGrpoError('VIDEO_DECODE_FAILED', `unsupported container (only mp4/mov and webm/matroska): ${file}`, {
    details: { path: file, reason: 'unsupported container', stderrTail: '' },
  });
}
