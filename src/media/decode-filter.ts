/** Builds the ffmpeg video filter chain for decoding: optional frame selection, scaling, conversion to RGB24. */

export interface DecodeFilterOptions {
  /** Sorted, unique, 0-based frame indices to keep; `undefined` keeps every frame. */
  readonly indices: readonly number[] | undefined;
  /** Output size in pixels. */
  readonly width: number;
  readonly height: number;
  /** The stream's own size in pixels. */
  readonly nativeWidth: number;
  readonly nativeHeight: number;
}

/**
 * `select=eq(n\,0)+eq(n\,5),scale=W:H:flags=…,format=rgb24`.
 *
 * The scale filter is always present so that the YUV→RGB conversion uses our flags rather than the defaults of an
 * auto-inserted scaler: `accurate_rnd` and `full_chroma_int` keep the encode→decode error low, `area` averages when
 * shrinking (no aliasing), `bicubic` otherwise. Commas inside the select expression are escaped (`\,`) because the
 * argument reaches ffmpeg without a shell and a bare comma would end the filter.
 */
export function decodeFilter(opts: DecodeFilterOptions): string {
  const filters: string[] = [];
  if (opts.indices !== undefined) {
    filters.push(`select=${opts.indices.map((i) => `eq(n\\,${i})`).join('+')}`);
  }
  const shrinking = opts.width <= opts.nativeWidth && opts.height <= opts.nativeHeight && (opts.width < opts.nativeWidth || opts.height < opts.nativeHeight);
  const kernel = shrinking ? 'area' : 'bicubic';
  filters.push(`scale=${opts.width}:${opts.height}:flags=${kernel}+accurate_rnd+full_chroma_int`);
  filters.push('format=rgb24');
  return filters.join(',');
}
