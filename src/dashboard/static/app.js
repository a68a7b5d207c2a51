// @ts-check
/**
 * The vr-grpo live dashboard (plain browser script, no build step). Reads the run's history from `api/history`, then
 * follows the `feed` (Server-Sent Events) from the last message it saw: step records become points on uPlot charts,
 * events become the event log and the vertical markers (RM version changes, drift trips), and sampled groups show
 * their videos, rewards and the verdicts: per pairwise comparison its answer against gold, tool calls, the frames it
 * viewed as thumbnails on a timeline of each video, and the reasoning turns.
 */
'use strict';

(() => {
  /** @typedef {{ step: number, [key: string]: unknown }} StepRecord */
  /** @typedef {{ atStep: number, event?: unknown, time?: unknown, [key: string]: unknown }} FeedEvent */
  /** @typedef {{ index: number, role: string, text: string, framesShown: number[] }} Turn */
  /**
   * @typedef {{ id: string, rmVersion: string, mode: string, answer: Record<string, number> | null, toolCalls: number,
   * framesViewed?: number[][], turns?: Turn[], hallucinations: { kind: string, detail: string }[], forced: boolean,
   * formatErrors: number }} Verdict
   */
  /** @typedef {{ src: string, frames: number[], tileWidth: number, tileHeight: number }} Strip */
  /**
   * @typedef {{ id: string, mp4: string, reward: number | null, perDimension: Record<string, number | null>, advantage:
   * number | null, goldAccuracy: number | null, frameCount?: number, gold?: Record<string, number> | null, thumbnails?:
   * Strip | null }} GroupVideo
   */
  /** @typedef {{ preference: Record<string, number>, credit: Record<string, number | undefined> }} ComparisonGold */
  /** @typedef {{ first: number, second: number, verdict: number, gold: ComparisonGold | null }} Comparison */
  /** @typedef {{ credit: number, decided: number, goldTies: number, accuracy: number | null }} DimensionAgreement */
  /** @typedef {{ comparisons: number, byDimension: Record<string, DimensionAgreement | undefined> }} JudgeGold */
  /** @typedef {{ step: number, prompt: string, videos: GroupVideo[], verdicts: Verdict[], comparisons?: Comparison[], judgeGold?: JudgeGold | null }} Group */
  /** @typedef {{ title: string, seq: number, steps: StepRecord[], events: FeedEvent[], groups: Group[] }} History */
  /**
   * @typedef {{ key: string, label: string, color: string, value: (r: StepRecord) => number | null, width?: number,
   * dash?: number[], points?: boolean, scale?: string }} SeriesSpec
   */
  /** @typedef {{ step: number, label: string, color: string }} Marker */
  /**
   * @typedef {{ id: string, series: (records: readonly StepRecord[]) => SeriesSpec[], markers: () => Marker[], yRange?:
   * [number, number], withStepZero?: boolean, rightAxis?: { scale: string, label: string } }} ChartSpec
   */

  const DIMENSIONS = /** @type {const} */ (['TA', 'MQ', 'VQ', 'overall']);
  const COLORS = { combined: '#0f172a', TA: '#2563eb', MQ: '#16a34a', VQ: '#d97706', overall: '#9333ea' };
  const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#9333ea', '#0891b2', '#db2777', '#65a30d'];
  const RM_COLOR = '#64748b';
  const DRIFT_COLOR = '#dc2626';
  const GUARD_COLOR = '#9333ea';
  const MAX_EVENTS_SHOWN = 200;
  const MAX_VERDICTS_SHOWN = 64;
  const PAIR_DIMENSIONS = /** @type {const} */ (['TA', 'MQ', 'VQ', 'OA']);
  /** Rows of thumbnails above a timeline before they may overlap. */
  const MAX_THUMB_ROWS = 3;
  /** Whole-step tick spacings for the x axes. */
  const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000, 100_000];

  const state = {
    /** @type {StepRecord[]} */ records: [],
    /** @type {FeedEvent[]} */ events: [],
    /** @type {Group | null} */ group: null,
    /** @type {number | null} */ totalSteps: null,
    seq: 0,
    /** Messages received live (not from the history). */
    live: 0,
  };

  // ---- small helpers ----

  /** @param {unknown} v @returns {v is number} */
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  /** @param {unknown} v @returns {number | null} */
  const num = (v) => (isNum(v) ? v : null);
  /** @param {unknown} v @returns {Record<string, unknown>} */
  const obj = (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? /** @type {Record<string, unknown>} */ (v) : {});
  /** @param {number | null | undefined} v @param {number} [digits] */
  const fmt = (v, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(digits));
  /** @param {unknown} v */
  const text = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

  /**
   * Creates an element with attributes and children (strings become text nodes: nothing is parsed as HTML).
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string>} [attrs]
   * @param {(Node | string)[]} [children]
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }

  /** @param {string} id @returns {HTMLElement} */
  function byId(id) {
    const node = document.getElementById(id);
    if (node === null) throw new Error(`dashboard: missing #${id}`);
    return node;
  }

  /** The uPlot constructor, from the script tag before this one. @returns {typeof uPlot} */
  function uPlotConstructor() {
    const ctor = /** @type {unknown} */ (Reflect.get(window, 'uPlot'));
    if (typeof ctor !== 'function') throw new Error('dashboard: uPlot did not load');
    return /** @type {typeof uPlot} */ (ctor);
  }
  const UPlot = uPlotConstructor();

  // ---- what the charts plot ----

  /**
   * The numeric gauges of an object-valued field over all records, in first-seen order: `{psi: 0.1}` gives `psi`;
   * a per-dimension map gives its `combined` value as `psi`, or one gauge per key (`tau TA`) when it has none.
   * @param {readonly StepRecord[]} records
   * @param {string} field
   * @returns {{ key: string, label: string, value: (r: StepRecord) => number | null }[]}
   */
  function gaugesOf(records, field) {
    /** @type {Map<string, { key: string, label: string, value: (r: StepRecord) => number | null }>} */
    const gauges = new Map();
    for (const r of records) {
      for (const [name, v] of Object.entries(obj(r[field]))) {
        if (isNum(v)) {
          if (!gauges.has(name)) gauges.set(name, { key: name, label: name, value: (x) => num(obj(x[field])[name]) });
          continue;
        }
        const inner = obj(v);
        if ('combined' in inner) {
          if (!gauges.has(name)) gauges.set(name, { key: name, label: name, value: (x) => num(obj(obj(x[field])[name]).combined) });
          continue;
        }
        for (const [k, w] of Object.entries(inner)) {
          const key = `${name}.${k}`;
          if (isNum(w) && !gauges.has(key)) gauges.set(key, { key, label: `${name} ${k}`, value: (x) => num(obj(obj(x[field])[name])[k]) });
        }
      }
    }
    return [...gauges.values()];
  }

  /** RM version changes: `rm_version_change` events, and changes of the step records' `rmVersions`. @returns {Marker[]} */
  function rmMarkers() {
    /** @type {Map<number, string>} */
    const at = new Map();
    let previous = '';
    for (const r of state.records) {
      const versions = Array.isArray(r.rmVersions) ? r.rmVersions.map(String).sort().join(', ') : '';
      if (versions === '') continue;
      if (previous !== '' && versions !== previous) at.set(r.step, versions);
      previous = versions;
    }
    for (const e of state.events) {
      if (e.event !== 'rm_version_change') continue;
      const step = num(e.step) ?? e.atStep;
      const to = e.to ?? e.rmVersion ?? e.version;
      at.set(step, to === undefined ? 'RM change' : text(to));
    }
    return [...at].map(([step, label]) => ({ step, label, color: RM_COLOR }));
  }

  /** Drift detector trips (`drift` events) and the guard's actions (`guard` events). @returns {Marker[]} */
  function driftMarkers() {
    return state.events
      .filter((e) => e.event === 'drift' || e.event === 'guard')
      .map((e) => ({
        step: num(e.step) ?? e.atStep,
        label:
          e.event === 'guard'
            ? `guard: ${text(e.action ?? 'act')}${isNum(e.rolledBackTo) ? ` → step ${String(e.rolledBackTo)}` : ''}`
            : `${text(e.detector ?? e.kind ?? e.name ?? 'drift')}${typeof e.dimension === 'string' ? ` ${e.dimension}` : ''}`,
        color: e.event === 'guard' ? GUARD_COLOR : DRIFT_COLOR,
      }));
  }

  /**
   * The judge's OA agreement with gold pooled over the run up to each step (Σ agreement·decided / Σ decided).
   * @param {readonly StepRecord[]} records
   * @returns {Map<number, number>}
   */
  function runningAgreement(records) {
    /** @type {Map<number, number>} */
    const out = new Map();
    let credit = 0;
    let decided = 0;
    for (const r of records) {
      const a = num(r.judgeGoldAgreement);
      const n = num(r.judgeGoldDecided);
      if (a === null || n === null || n === 0) continue;
      credit += a * n;
      decided += n;
      out.set(r.step, credit / decided);
    }
    return out;
  }

  /** @type {ChartSpec[]} */
  const CHARTS = [
    {
      id: 'reward',
      series: () => [
        { key: 'combined', label: 'combined', color: COLORS.combined, width: 2.5, value: (r) => num(obj(r.reward).combined) },
        ...DIMENSIONS.map((d) => ({ key: d, label: d, color: COLORS[d], value: (/** @type {StepRecord} */ r) => num(obj(r.reward)[d]) })),
      ],
      markers: () => [...rmMarkers(), ...driftMarkers()],
    },
    {
      id: 'gold',
      series: () => [
        { key: 'goldAccuracy', label: 'train', color: '#0d9488', width: 2, value: (r) => num(r.goldAccuracy) },
        { key: 'heldOutGoldAccuracy', label: 'held-out', color: '#7c3aed', width: 1.5, dash: [4, 4], points: true, value: (r) => num(r.heldOutGoldAccuracy) },
      ],
      markers: rmMarkers,
      // The step-0 line is the held-out evaluation before training: the curve's starting point.
      withStepZero: true,
    },
    {
      id: 'kl',
      series: () => [
        { key: 'kl', label: 'KL to ref', color: '#2563eb', width: 2, value: (r) => num(r.kl) },
        { key: 'approxKl', label: 'approx KL', color: '#94a3b8', value: (r) => num(r.approxKl) },
      ],
      markers: rmMarkers,
    },
    {
      id: 'thinking',
      series: () => [
        { key: 'frames', label: 'frames viewed', color: '#0891b2', width: 2, value: (r) => num(r.framesViewedPerJudgment) },
        { key: 'tools', label: 'tool calls', color: '#db2777', width: 2, scale: 'calls', value: (r) => num(r.toolCallsPerJudgment) },
      ],
      markers: rmMarkers,
      rightAxis: { scale: 'calls', label: 'tool calls' },
    },
    {
      id: 'judge-gold',
      series: (records) => {
        if (!records.some((r) => isNum(r.judgeGoldAgreement))) return [];
        const running = runningAgreement(records);
        return [
          { key: 'OA', label: 'OA (step)', color: COLORS.overall, width: 2, value: (r) => num(r.judgeGoldAgreement) },
          { key: 'running', label: 'OA (run so far)', color: COLORS.combined, width: 1.5, dash: [5, 4], value: (r) => running.get(r.step) ?? null },
          .../** @type {const} */ (['TA', 'MQ', 'VQ']).map((d) => ({
            key: d,
            label: d,
            color: COLORS[d],
            width: 1,
            value: (/** @type {StepRecord} */ r) => num(obj(r.judgeGoldAgreementByDimension)[d]),
          })),
        ];
      },
      markers: rmMarkers,
      yRange: [0, 1],
    },
    {
      id: 'drift',
      series: (records) => gaugesOf(records, 'drift').map((g, i) => ({ ...g, color: PALETTE[i % PALETTE.length] ?? '#000' })),
      markers: () => [...rmMarkers(), ...driftMarkers()],
    },
    {
      id: 'audit',
      series: (records) => {
        const audited = records.filter((r) => Object.keys(obj(r.audit)).length > 0);
        if (audited.length === 0) return [];
        /** @type {Set<string>} */
        const names = new Set();
        for (const r of audited) for (const n of Object.keys(obj(obj(r.audit).auditors))) names.add(n);
        return [
          { key: 'proxy', label: 'training judge', color: COLORS.combined, width: 2.5, value: (r) => num(obj(r.audit).proxy) },
          ...[...names].map((n, i) => ({
            key: `auditor.${n}`,
            label: n,
            color: PALETTE[(i + 1) % PALETTE.length] ?? '#000',
            width: 2,
            value: (/** @type {StepRecord} */ r) => num(obj(obj(obj(r.audit).auditors)[n]).score),
          })),
          { key: 'fullView', label: 'full view', color: '#7c3aed', dash: [2, 3], value: (r) => num(obj(obj(r.audit).fullView).score) },
          { key: 'gap', label: 'gap', color: DRIFT_COLOR, width: 1.5, dash: [6, 4], value: (r) => num(obj(r.audit).gap) },
        ];
      },
      markers: () => [...rmMarkers(), ...driftMarkers().filter((m) => m.label.startsWith('proxy_') || m.color === GUARD_COLOR)],
    },
    {
      id: 'hallucinations',
      series: (records) =>
        gaugesOf(records, 'hallucinations').map((g, i) => ({
          key: g.key,
          label: g.label.replaceAll('_', ' '),
          color: PALETTE[i % PALETTE.length] ?? '#000',
          value: (r) => {
            const judgments = num(r.judgments);
            return judgments === null || judgments === 0 ? null : (g.value(r) ?? 0) / judgments;
          },
        })),
      markers: rmMarkers,
    },
  ];

  // ---- charts ----

  /** Draws vertical dashed lines with a label at marker steps. @param {() => Marker[]} markers @returns {uPlot.Plugin} */
  function markersPlugin(markers) {
    return {
      hooks: {
        draw: [
          (u) => {
            const { left, top, width, height } = u.bbox;
            const ctx = u.ctx;
            const dpr = window.devicePixelRatio || 1;
            ctx.save();
            ctx.font = `${10 * dpr}px system-ui, sans-serif`;
            ctx.textBaseline = 'top';
            // Labels that would overlap the previous one are left out (the line stays; the legend and events list say more).
            let labelEnd = -Infinity;
            for (const m of [...markers()].sort((a, b) => a.step - b.step)) {
              const x = Math.round(u.valToPos(m.step, 'x', true));
              if (!Number.isFinite(x) || x < left || x > left + width) continue;
              ctx.strokeStyle = m.color;
              ctx.fillStyle = m.color;
              ctx.lineWidth = dpr;
              ctx.setLineDash([4 * dpr, 3 * dpr]);
              ctx.beginPath();
              ctx.moveTo(x, top);
              ctx.lineTo(x, top + height);
              ctx.stroke();
              const label = m.label.length > 24 ? `${m.label.slice(0, 23)}…` : m.label;
              if (x + 3 * dpr > labelEnd) {
                ctx.fillText(label, x + 3 * dpr, top + 2 * dpr);
                labelEnd = x + 3 * dpr + ctx.measureText(label).width + 4 * dpr;
              }
            }
            ctx.restore();
          },
        ],
      },
    };
  }

  class Chart {
    /** @param {ChartSpec} spec @param {HTMLElement} host */
    constructor(spec, host) {
      this.spec = spec;
      this.host = host;
      /** @type {uPlot | null} */
      this.plot = null;
      /** @type {string} */
      this.keys = '';
      /** The user dragged a range: keep it while new steps arrive (double-click zooms out). */
      this.zoomed = false;
      new ResizeObserver(() => this.plot?.setSize(this.size())).observe(host);
      host.addEventListener('dblclick', () => {
        this.zoomed = false;
      });
    }

    size() {
      return { width: Math.max(240, this.host.clientWidth), height: 220 };
    }

    /** Rebuilds the data from every record; recreates the plot when the set of series changed. */
    update() {
      const records = this.spec.withStepZero === true ? state.records : state.records.filter((r) => r.step > 0);
      const series = this.spec.series(records);
      const keys = series.map((s) => s.key).join('|');
      /** @type {uPlot.AlignedData} */
      const data = [records.map((r) => r.step), ...series.map((s) => records.map(s.value))];
      let points = 0;
      for (const column of data.slice(1)) for (const v of column) if (v !== null && v !== undefined) points += 1;
      this.host.dataset.points = String(points);
      this.host.dataset.series = String(series.length);
      const empty = document.querySelector(`[data-empty-for="${this.spec.id}"]`);
      if (empty instanceof HTMLElement) empty.hidden = points > 0;
      this.host.hidden = series.length === 0;
      if (series.length === 0) return;
      if (this.plot === null || keys !== this.keys) {
        this.plot?.destroy();
        this.keys = keys;
        this.zoomed = false;
        this.plot = new UPlot(this.options(series), data, this.host);
      } else {
        this.plot.setData(data, !this.zoomed);
      }
    }

    /** @param {SeriesSpec[]} series @returns {uPlot.Options} */
    options(series) {
      const axis = { stroke: '#475569', grid: { stroke: '#e2e8f0', width: 1 }, ticks: { stroke: '#cbd5e1', width: 1 } };
      return {
        ...this.size(),
        scales: {
          x: { time: false },
          ...(this.spec.yRange === undefined ? {} : { y: { range: this.spec.yRange } }),
          ...(this.spec.rightAxis === undefined ? {} : { [this.spec.rightAxis.scale]: { auto: true } }),
        },
        axes: [
          { ...axis, label: 'step', labelSize: 18, incrs: STEP_INCREMENTS },
          { ...axis, size: 56 },
          ...(this.spec.rightAxis === undefined
            ? []
            : [{ ...axis, scale: this.spec.rightAxis.scale, side: 1, size: 48, label: this.spec.rightAxis.label, labelSize: 18, grid: { show: false } }]),
        ],
        cursor: { drag: { x: true, y: false } },
        legend: { live: true },
        series: [
          { label: 'step', value: (_u, v) => (v === null ? '–' : String(v)) },
          ...series.map((s) => ({
            label: s.label,
            ...(s.scale === undefined ? {} : { scale: s.scale }),
            stroke: s.color,
            width: s.width ?? 1.5,
            spanGaps: true,
            ...(s.dash === undefined ? {} : { dash: s.dash }),
            points: { show: s.points === true ? true : undefined, size: 5, fill: s.color },
            value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) => fmt(v),
          })),
        ],
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width > 0) this.zoomed = true;
            },
          ],
        },
        plugins: [markersPlugin(this.spec.markers)],
      };
    }
  }

  /** @type {Map<string, Chart>} */
  const charts = new Map();
  for (const spec of CHARTS) {
    const host = document.querySelector(`[data-chart="${spec.id}"]`);
    if (host instanceof HTMLElement) charts.set(spec.id, new Chart(spec, host));
  }

  // ---- header, events, group ----

  function renderHeader() {
    const last = state.records.at(-1);
    const step = last?.step ?? 0;
    const stepEl = byId('step');
    stepEl.textContent = String(step);
    stepEl.dataset.step = String(step);
    byId('step-total').textContent = state.totalSteps === null ? '' : `/ ${state.totalSteps}`;
    byId('stat-reward').textContent = fmt(num(obj(last?.reward).combined));
    byId('stat-gold').textContent = fmt(num(last?.goldAccuracy));
    const heldOut = [...state.records].reverse().find((r) => isNum(r.heldOutGoldAccuracy));
    byId('stat-heldout').textContent = heldOut === undefined ? '–' : `${fmt(num(heldOut.heldOutGoldAccuracy))} @${heldOut.step}`;
    const versions = Array.isArray(last?.rmVersions) ? last.rmVersions.map(String).join(', ') : '';
    byId('stat-rm').textContent = versions === '' ? '–' : versions;
    const running = [...runningAgreement(state.records).values()].at(-1);
    byId('stat-judge-gold').textContent = running === undefined ? '–' : fmt(running, 2);
  }

  /** @param {FeedEvent} e */
  function eventItem(e) {
    const time = typeof e.time === 'string' || typeof e.time === 'number' ? new Date(e.time) : null;
    const details = Object.entries(e)
      .filter(([k]) => k !== 'time' && k !== 'event' && k !== 'atStep')
      .map(([k, v]) => `${k}=${text(v)}`)
      .join('  ');
    const name = text(e.event ?? 'event');
    return el('li', { class: `event event-${name.replace(/[^a-z0-9_-]/gi, '')}` }, [
      el('span', { class: 'event-time' }, [time === null || Number.isNaN(time.getTime()) ? '' : time.toLocaleTimeString()]),
      el('span', { class: 'event-name' }, [name]),
      el('span', { class: 'event-step' }, [`step ${num(e.step) ?? e.atStep}`]),
      el('span', { class: 'event-details' }, [details.length > 300 ? `${details.slice(0, 299)}…` : details]),
    ]);
  }

  function renderEvents() {
    const list = byId('events');
    list.replaceChildren(...state.events.slice(-MAX_EVENTS_SHOWN).reverse().map(eventItem));
  }

  /** The URL of a run file (`videos/step-000001/v0.mp4` → `runs/videos/step-000001/v0.mp4`). @param {string} mp4 */
  const videoUrl = (mp4) => `runs/${mp4.split('/').map(encodeURIComponent).join('/')}`;

  /** @param {GroupVideo} v @param {number} best */
  function videoCard(v, best) {
    const reward = num(v.reward);
    const adv = num(v.advantage);
    const bars = DIMENSIONS.map((d) => {
      const x = num(v.perDimension[d]);
      const bar = el('span', { class: 'bar-fill' });
      bar.style.width = `${x === null ? 0 : Math.round(Math.max(0, Math.min(1, x)) * 100)}%`;
      bar.style.background = COLORS[d];
      return el('div', { class: 'dim' }, [
        el('span', { class: 'dim-name' }, [d]),
        el('span', { class: 'bar' }, [bar]),
        el('span', { class: 'dim-value' }, [fmt(x, 2)]),
      ]);
    });
    // Short and small: load them whole and loop them silently, like a contact sheet that moves.
    const video = el('video', {
      src: videoUrl(v.mp4),
      controls: '',
      autoplay: '',
      loop: '',
      muted: '',
      playsinline: '',
      preload: 'auto',
      'data-video-id': v.id,
    });
    video.muted = true;
    return el('figure', { class: `video-card${reward !== null && reward === best ? ' best' : ''}${reward === null ? ' masked' : ''}` }, [
      video,
      el('figcaption', {}, [
        el('div', { class: 'row head' }, [el('span', { class: 'vid' }, [v.id]), el('b', { class: 'reward' }, [reward === null ? 'masked' : fmt(reward)])]),
        el('div', { class: 'dims' }, bars),
        el('div', { class: 'row' }, [
          el('span', {}, ['advantage']),
          el('b', { class: adv === null ? '' : adv >= 0 ? 'pos' : 'neg' }, [adv === null ? '–' : `${adv >= 0 ? '+' : ''}${fmt(adv, 2)}`]),
        ]),
        el('div', { class: 'row' }, [el('span', {}, ['gold accuracy']), el('b', {}, [fmt(num(v.goldAccuracy), 2)])]),
      ]),
    ]);
  }

  /** Frames a verdict viewed, over all its videos. @param {Verdict} v */
  const framesViewedOf = (v) => (Array.isArray(v.framesViewed) ? v.framesViewed.reduce((n, f) => n + (Array.isArray(f) ? f.length : 0), 0) : 0);
  /** @param {number} n @param {string} word */
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

  /** The reasoning turns of a verdict (or a note that it carries none). @param {Verdict} v @returns {HTMLElement[]} */
  function turnsOf(v) {
    return Array.isArray(v.turns) && v.turns.length > 0
      ? v.turns.map((t) =>
          el('div', { class: `turn turn-${t.role === 'tool' ? 'tool' : 'assistant'}` }, [
            el('div', { class: 'turn-head' }, [`${t.role} · turn ${t.index + 1}${t.framesShown.length > 0 ? ` · frames ${t.framesShown.join(', ')}` : ''}`]),
            el('pre', { class: 'trace' }, [t.text]),
          ]),
        )
      : [el('p', { class: 'muted' }, ['No reasoning trace in this verdict.'])];
  }

  /** @param {Verdict} v @returns {HTMLElement[]} */
  function problemsOf(v) {
    const items = v.hallucinations.map((h) => el('li', {}, [`${h.kind}: ${h.detail}`]));
    return items.length > 0 ? [el('ul', { class: 'hallucinations' }, items)] : [];
  }

  /** Width in px the timelines get (the thumbnail rows are laid out for it; positions themselves are in %). */
  function timelineWidth() {
    return Math.max(200, byId('group-verdicts').clientWidth - 170);
  }

  /**
   * One video's timeline: a bar the length of the clip with a tick at each viewed frame, and above it the thumbnails of
   * those frames centred on their ticks (stacked in up to MAX_THUMB_ROWS rows where they would overlap).
   * @param {string} label @param {GroupVideo | undefined} video @param {readonly number[]} frames @param {number} width
   */
  function timelineRow(label, video, frames, width) {
    const sorted = [...new Set(frames.filter((f) => Number.isInteger(f) && f >= 0))].sort((a, b) => a - b);
    const count = isNum(video?.frameCount) ? video.frameCount : (sorted.at(-1) ?? 0) + 1;
    const strip = video?.thumbnails ?? null;
    const tileW = strip === null ? 24 : strip.tileWidth;
    const tileH = strip === null ? 24 : strip.tileHeight;
    /** @param {number} f */
    const position = (f) => (count <= 1 ? 0 : (Math.min(f, count - 1) / (count - 1)) * 100);
    /** Right edge (px) of each row of thumbnails so far. @type {number[]} */
    const rows = [];
    const thumbs = sorted.map((f) => {
      const pct = position(f);
      const left = (pct / 100) * width - tileW / 2;
      let row = rows.findIndex((right) => right + 2 <= left);
      if (row < 0 && rows.length < MAX_THUMB_ROWS) row = rows.push(-Infinity) - 1;
      if (row < 0) row = rows.indexOf(Math.min(...rows));
      rows[row] = left + tileW;
      const k = strip === null ? -1 : strip.frames.indexOf(f);
      const box = el('span', {
        class: `thumb${k < 0 ? ' missing' : ''}`,
        'data-frame': String(f),
        'data-left': pct.toFixed(2),
        title: `frame ${f + 1} of ${count}`,
      });
      box.style.left = `${pct}%`;
      box.style.top = `${row * (tileH + 3)}px`;
      box.style.width = `${tileW}px`;
      box.style.height = `${tileH}px`;
      if (strip !== null && k >= 0) {
        const img = el('img', { src: videoUrl(strip.src), alt: `frame ${f + 1}`, 'data-tile': String(k) });
        img.style.width = `${strip.frames.length * tileW}px`;
        img.style.height = `${tileH}px`;
        img.style.left = `${-k * tileW}px`;
        box.append(img);
      } else box.append(String(f + 1));
      return box;
    });
    const lane = el('div', { class: 'tl-lane' }, thumbs);
    lane.style.height = `${Math.max(1, rows.length) * (tileH + 3)}px`;
    const ticks = sorted.map((f) => {
      const tick = el('span', { class: 'tick', 'data-frame': String(f), title: `frame ${f + 1}` });
      tick.style.left = `${position(f)}%`;
      return tick;
    });
    return el('div', { class: 'timeline', 'data-video': video?.id ?? '', 'data-frame-count': String(count), 'data-viewed': String(sorted.length) }, [
      el('div', { class: 'tl-label' }, [label, el('br'), el('span', { class: 'muted' }, [`${sorted.length} of ${count} frames`])]),
      el('div', { class: 'tl-track' }, [
        lane,
        el('div', { class: 'tl-bar' }, ticks),
        el('div', { class: 'tl-axis' }, [el('span', {}, ['1']), el('span', {}, [String(count)])]),
      ]),
    ]);
  }

  /** Who a preference picks: 1 → the first video, 2 → the second, 0 → tie. @param {number | undefined} p @param {string} a @param {string} b */
  const picks = (p, a, b) => (p === 1 ? a : p === 2 ? b : p === 0 ? 'tie' : 'not given');
  /** @param {number | undefined} credit @param {number | undefined} gold */
  const mark = (credit, gold) => (credit === 1 ? '✓' : credit === 0.5 ? '½' : credit === 0 ? '✗' : gold === 0 ? 'gold tie' : '');

  /**
   * One pairwise comparison: answer against gold, tool calls, frames viewed, the two timelines, the reasoning.
   * @param {Group} g @param {Comparison} c @param {number} i @param {number} width
   */
  function comparisonItem(g, c, i, width) {
    const v = g.verdicts[c.verdict];
    if (v === undefined) return el('p', { class: 'muted' }, [`#${i + 1}: verdict missing`]);
    const a = g.videos[c.first];
    const b = g.videos[c.second];
    const nameA = a?.id ?? `video ${c.first}`;
    const nameB = b?.id ?? `video ${c.second}`;
    const frames = framesViewedOf(v);
    const oa = v.answer?.OA;
    const credit = c.gold?.credit.OA;
    const hall = v.hallucinations.length === 0 ? '' : ` · ⚠ ${v.hallucinations.map((h) => h.kind.replaceAll('_', ' ')).join(', ')}`;
    const summary = el('summary', {}, [
      el('span', { class: 'verdict-id' }, [`#${i + 1}`]),
      ' ',
      el('b', {}, [`${nameA} vs ${nameB}`]),
      ` · OA: ${picks(oa, nameA, nameB)}`,
      ...(c.gold === null
        ? []
        : [
            ' · gold: ',
            el('span', { class: `gold-mark credit-${credit === undefined ? 'none' : String(credit).replace('.', '_')}` }, [
              c.gold.preference.OA === 0 ? 'tie (skipped)' : `${picks(c.gold.preference.OA, nameA, nameB)} ${mark(credit, c.gold.preference.OA)}`.trim(),
            ]),
          ]),
      ` · ${plural(v.toolCalls, 'tool call')} · ${plural(frames, 'frame')} viewed · RM ${v.rmVersion}${v.forced ? ' · forced' : ''}${hall}`,
    ]);
    const table = el('table', { class: 'dims-table' }, [
      el('tr', {}, [el('th', {}, ['']), ...PAIR_DIMENSIONS.map((d) => el('th', {}, [d]))]),
      el('tr', {}, [el('td', {}, ['judge']), ...PAIR_DIMENSIONS.map((d) => el('td', {}, [picks(v.answer?.[d], nameA, nameB)]))]),
      ...(c.gold === null
        ? []
        : [
            el('tr', {}, [el('td', {}, ['gold']), ...PAIR_DIMENSIONS.map((d) => el('td', {}, [picks(c.gold?.preference[d], nameA, nameB)]))]),
            el('tr', {}, [
              el('td', {}, ['agrees']),
              ...PAIR_DIMENSIONS.map((d) => el('td', { class: 'agree' }, [mark(c.gold?.credit[d], c.gold?.preference[d]) || '–'])),
            ]),
          ]),
    ]);
    const viewed = Array.isArray(v.framesViewed) ? v.framesViewed : [];
    const timelines = el('div', { class: 'timelines' }, [
      timelineRow(`video 1 · ${nameA}`, a, viewed[0] ?? [], width),
      timelineRow(`video 2 · ${nameB}`, b, viewed[1] ?? [], width),
    ]);
    const details = el(
      'details',
      {
        class: 'verdict comparison',
        'data-first': String(c.first),
        'data-second': String(c.second),
        'data-tool-calls': String(v.toolCalls),
        'data-frames-viewed': String(frames),
        'data-credit': credit === undefined ? '' : String(credit),
      },
      [summary, table, timelines, ...problemsOf(v), ...turnsOf(v)],
    );
    if (i === 0) details.open = true;
    return details;
  }

  /**
   * A pointwise verdict (or a pairwise one without its pair): answer, tool calls, frames per video, reasoning. @param
   * {Group} g @param {Verdict} v @param {number} i @param {number} width
   */
  function verdictItem(g, v, i, width) {
    // A dimension the judge did not give (the released VR-Thinker may answer overall only) reads "not given", never a number.
    const answer = v.answer === null ? 'pointwise' : ['TA', 'MQ', 'VQ', 'OA', 'CF'].map((k) => `${k}=${v.answer?.[k] ?? 'not given'}`).join(' ');
    const hall = v.hallucinations.length === 0 ? '' : ` · ⚠ ${v.hallucinations.map((h) => h.kind.replaceAll('_', ' ')).join(', ')}`;
    const frames = framesViewedOf(v);
    const summary = el('summary', {}, [
      el('span', { class: 'verdict-id' }, [`#${i + 1}`]),
      ` ${answer} · ${plural(v.toolCalls, 'tool call')} · ${plural(frames, 'frame')} viewed · RM ${v.rmVersion}${v.forced ? ' · forced' : ''}${hall}`,
    ]);
    const viewed = v.mode === 'pointwise' && Array.isArray(v.framesViewed) ? v.framesViewed : [];
    const timelines =
      viewed.length > 0
        ? [
            el(
              'div',
              { class: 'timelines' },
              viewed.map((f, k) => timelineRow(g.videos[k]?.id ?? `video ${k + 1}`, g.videos[k], f, width)),
            ),
          ]
        : [];
    const details = el('details', { class: 'verdict', 'data-tool-calls': String(v.toolCalls), 'data-frames-viewed': String(frames) }, [
      summary,
      ...problemsOf(v),
      ...timelines,
      ...turnsOf(v),
    ]);
    if (i === 0) details.open = true;
    return details;
  }

  /** The group's judge-vs-gold line and its thinking effort. @param {Group} g @param {readonly Comparison[]} comparisons */
  function groupJudgeSummary(g, comparisons) {
    const verdicts = comparisons.map((c) => g.verdicts[c.verdict]).filter((v) => v !== undefined);
    const frames = verdicts.reduce((n, v) => n + framesViewedOf(v), 0);
    const calls = verdicts.reduce((n, v) => n + v.toolCalls, 0);
    const effort =
      verdicts.length === 0 ? '' : `per judgment: ${fmt(frames / verdicts.length, 1)} frames viewed, ${fmt(calls / verdicts.length, 1)} tool calls`;
    const jg = g.judgeGold ?? null;
    const oa = jg?.byDimension.OA;
    const line = el(
      'p',
      {
        class: 'judge-gold',
        id: 'group-judge-gold',
        'data-accuracy': oa?.accuracy === null || oa === undefined ? '' : String(oa.accuracy),
        'data-decided': String(oa?.decided ?? 0),
      },
      [],
    );
    if (jg === null || oa === undefined) {
      line.append(`Judge vs gold: no gold for this group. ${effort}`);
      return line;
    }
    const dims = /** @type {const} */ (['TA', 'MQ', 'VQ'])
      .map((d) => {
        const x = jg.byDimension[d];
        return x === undefined || x.accuracy === null ? null : `${d} ${fmt(x.accuracy, 2)}`;
      })
      .filter((x) => x !== null);
    line.append(
      'Judge vs gold (OA): ',
      el('b', {}, [oa.accuracy === null ? '–' : fmt(oa.accuracy, 2)]),
      ` over ${plural(oa.decided, 'decided comparison')}${oa.goldTies > 0 ? ` (${oa.goldTies} gold ${oa.goldTies === 1 ? 'tie' : 'ties'} skipped)` : ''}${dims.length > 0 ? ` · ${dims.join(' · ')}` : ''}${effort === '' ? '' : ` · ${effort}`}`,
    );
    return line;
  }

  function renderGroup() {
    const g = state.group;
    byId('group-empty').hidden = g !== null;
    if (g === null) return;
    const section = byId('group');
    section.dataset.step = String(g.step);
    const comparisons = Array.isArray(g.comparisons) ? g.comparisons : [];
    byId('group-meta').textContent =
      `step ${g.step} · ${g.videos.length} videos · ${comparisons.length > 0 ? plural(comparisons.length, 'comparison') : plural(g.verdicts.length, 'verdict')}`;
    byId('group-prompt').textContent = g.prompt;
    const rewards = g.videos.map((v) => num(v.reward)).filter(isNum);
    const best = rewards.length === 0 ? NaN : Math.max(...rewards);
    byId('group-videos').replaceChildren(...g.videos.map((v) => videoCard(v, best)));
    const width = timelineWidth();
    if (comparisons.length > 0) {
      // Pairwise: one entry per comparison; verdicts not part of one (none, normally) follow.
      const paired = new Set(comparisons.map((c) => c.verdict));
      const rest = g.verdicts.filter((_, k) => !paired.has(k));
      const items = [...comparisons.map((c, i) => comparisonItem(g, c, i, width)), ...rest.map((v, i) => verdictItem(g, v, comparisons.length + i, width))];
      const shown = items.slice(0, MAX_VERDICTS_SHOWN);
      const more = items.length > MAX_VERDICTS_SHOWN ? [el('p', { class: 'muted' }, [`… and ${items.length - MAX_VERDICTS_SHOWN} more`])] : [];
      byId('group-verdicts').replaceChildren(el('h3', {}, ['Comparisons']), groupJudgeSummary(g, comparisons), ...shown, ...more);
      return;
    }
    const verdicts = g.verdicts.slice(0, MAX_VERDICTS_SHOWN).map((v, i) => verdictItem(g, v, i, width));
    const more = g.verdicts.length > MAX_VERDICTS_SHOWN ? [el('p', { class: 'muted' }, [`… and ${g.verdicts.length - MAX_VERDICTS_SHOWN} more`])] : [];
    byId('group-verdicts').replaceChildren(...(verdicts.length > 0 ? [el('h3', {}, ['Verdicts'])] : []), ...verdicts, ...more);
  }

  // ---- state updates; rendering is coalesced to one per animation frame ----

  let dirty = { charts: false, events: false, group: false };
  let scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      const d = dirty;
      dirty = { charts: false, events: false, group: false };
      if (d.charts || d.events) {
        renderHeader();
        for (const c of charts.values()) c.update();
      }
      if (d.events) renderEvents();
      if (d.group) renderGroup();
    });
  }

  /** @param {StepRecord} r */
  function addStep(r) {
    if (!isNum(r.step)) return;
    // A resumed run repeats steps: drop what it replaces.
    const last = state.records.at(-1);
    if (last !== undefined && r.step <= last.step) state.records = state.records.filter((x) => x.step < r.step);
    state.records.push(r);
    dirty.charts = true;
  }

  /** @param {FeedEvent} e */
  function addEvent(e) {
    state.events.push(e);
    if (e.event === 'start' && isNum(e.steps)) state.totalSteps = e.steps;
    if (state.events.length > 10_000) state.events.splice(0, state.events.length - 10_000);
    dirty.events = true;
  }

  /** @param {Group} g */
  function setGroup(g) {
    state.group = g;
    dirty.group = true;
  }

  /** @param {History} h */
  function applyHistory(h) {
    state.records = [];
    state.events = [];
    state.group = null;
    state.totalSteps = null;
    for (const r of h.steps) addStep(r);
    for (const e of h.events) addEvent(e);
    const g = h.groups.at(-1);
    if (g !== undefined) setGroup(g);
    state.seq = h.seq;
    byId('title').textContent = h.title;
    document.title = `${h.title} · vr-grpo live`;
    dirty = { charts: true, events: true, group: true };
    schedule();
  }

  /** @param {'connecting' | 'live' | 'reconnecting' | 'error'} s */
  function setStatus(s) {
    const node = byId('feed-status');
    node.textContent = s;
    node.dataset.status = s;
  }

  // ---- loading and the live feed ----

  /** @type {EventSource | null} */
  let feed = null;

  async function load() {
    const res = await fetch('api/history', { cache: 'no-store' });
    if (!res.ok) throw new Error(`history: HTTP ${res.status}`);
    const body = /** @type {unknown} */ (await res.json());
    applyHistory(/** @type {History} */ (body));
    connect();
  }

  function connect() {
    feed?.close();
    setStatus('connecting');
    const source = new EventSource(`feed?since=${state.seq}`);
    feed = source;
    /**
     * The parsed payload of a feed message; remembers its number.
     * @param {Event} e
     * @returns {unknown}
     */
    const payload = (e) => {
      const m = /** @type {MessageEvent<unknown>} */ (e);
      const seq = Number(m.lastEventId);
      if (m.lastEventId !== '' && Number.isSafeInteger(seq) && seq > state.seq) state.seq = seq;
      return typeof m.data === 'string' ? /** @type {unknown} */ (JSON.parse(m.data)) : null;
    };
    source.addEventListener('open', () => setStatus('live'));
    source.addEventListener('error', () => setStatus(source.readyState === EventSource.CLOSED ? 'error' : 'reconnecting'));
    source.addEventListener('hello', (e) => {
      // A restarted server numbers from 1 again: start over from its history.
      const hello = /** @type {{ seq: number }} */ (payload(e));
      if (hello.seq < state.seq) {
        source.close();
        load().catch(fail);
      }
    });
    source.addEventListener('step', (e) => {
      state.live += 1;
      addStep(/** @type {StepRecord} */ (payload(e)));
      schedule();
    });
    source.addEventListener('event', (e) => {
      state.live += 1;
      addEvent(/** @type {FeedEvent} */ (payload(e)));
      schedule();
    });
    source.addEventListener('group', (e) => {
      state.live += 1;
      setGroup(/** @type {Group} */ (payload(e)));
      schedule();
    });
  }

  /** @param {unknown} error */
  function fail(error) {
    setStatus('error');
    console.error('dashboard:', error);
    // Try again later; the server may be restarting.
    setTimeout(() => load().catch(fail), 3000);
  }

  /** For tests and the curious: the page's state and charts. */
  Reflect.set(window, 'vrgrpoDashboard', { state, charts });
  load().catch(fail);
})();
