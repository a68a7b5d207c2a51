/**
 * One training stage end to end, as `vr-grpo train-judge <stage>` runs it: compile the options, prepare (or read from
 * the cache) the training and validation pairs, load and check the parent checkpoint (rft and grpo start from one),
 * run the stage, and write its checkpoint folder (manifest.json, metrics.json, policy.onnx, perception/).
 */
import { basename, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { VrGrpoError } from '../errors/index.js';
import { manifestLayout, type LearnedManifest, type TrainingStage } from '../judge/backends/learned/index.js';
import type { PolicyNet } from './policy-net.js';
import { loadStagePolicy, saveStageCheckpoint, METRICS_FILE } from './checkpoint.js';
import { runColdStart } from './cold-start.js';
import { prepareTrainingData, type TrainingData } from './data.js';
import { runGrpo } from './grpo.js';
import type { JudgeMetrics } from './metrics.js';
import { compileStageOptions, type StageOverrides } from './options.js';
import { runRft } from './rft.js';
import type { StageResult } from './stage-result.js';

export interface StageRunOptions {
  readonly stage: TrainingStage;
  /** Checkpoint folder to write (replaced atomically). */
  readonly out: string;
  /** Parent checkpoint folder: required for `rft` and `grpo`, refused for `cold-start`. */
  readonly from?: string | null;
  /** Version label in the manifest (and in every verdict the checkpoint serves). Default: the name of `out`. */
  readonly version?: string;
  readonly overrides?: StageOverrides;
  readonly log?: (line: string) => void;
  /** Pairs already prepared (tests, benchmarks). Default: `prepareTrainingData(config)`. */
  readonly data?: TrainingData;
}

export interface StageRunSummary {
  readonly stage: TrainingStage;
  readonly version: string;
  readonly out: string;
  readonly metricsFile: string;
  readonly parent: { readonly version: string; readonly stage: string; readonly dir: string } | null;
  readonly trainPairs: number;
  readonly validationPairs: number;
  readonly validation: JudgeMetrics;
  readonly seconds: number;
}

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Headline numbers written into the manifest (everything else goes to metrics.json). */
function headline(v: JudgeMetrics, data: TrainingData): Record<string, unknown> {
  return {
    trainPairs: data.train.length,
    validationPairs: data.validation.length,
    validation: {
      pairwiseAccuracy: v.pairwiseAccuracy,
      perDimensionMean: v.perDimensionMean,
      meanFramesViewed: v.meanFramesViewed,
      meanToolCalls: v.meanToolCalls,
      exploredShare: v.exploredShare,
      formatValidShare: v.formatValidShare,
    },
  };
}

/** CHECKPOINT_INVALID unless the parent was trained on this data's perception with this answer mode. */
function checkParent(parent: LearnedManifest, dir: string, data: TrainingData, answerMode: string): void {
  if (parent.perception.sha256 !== data.perception.sha256) {
    throw new VrGrpoError(
      'CHECKPOINT_INVALID',
      `parent ${dir} was trained on perception ${parent.perception.version}, the data is perceived with ${data.perception.version} (sha256 differs)`,
      {
        details: { dir, parentPerception: parent.perception.sha256, dataPerception: data.perception.sha256 },
      },
    );
  }
  const layout = data.layout ?? 'v1';
  if (manifestLayout(parent) !== layout) {
    throw new VrGrpoError(
      'CHECKPOINT_INVALID',
      `parent ${dir} observes in the ${manifestLayout(parent)} layout, this data is for the ${layout} layout (world ${layout === 'temporal' ? 2 : 1})`,
      {
        details: { dir, parentLayout: manifestLayout(parent), layout },
      },
    );
  }
  if (parent.actions.answerMode !== answerMode) {
    throw new VrGrpoError('CHECKPOINT_INVALID', `parent ${dir} gives ${parent.actions.answerMode} answers, this stage is configured for ${answerMode}`, {
      details: { dir, parentAnswerMode: parent.actions.answerMode, answerMode },
    });
  }
}

export async function runStage(config: Config, o: StageRunOptions): Promise<StageRunSummary> {
  const t0 = performance.now();
  const log = o.log ?? ((): void => undefined);
  const out = resolve(o.out);
  const version = o.version ?? basename(out);
  if (!VERSION_RE.test(version))
    throw new VrGrpoError('INVALID_ARGUMENT', `version label must be letters, digits, '.', '_' and '-', got ${JSON.stringify(version)}`);
  const from = o.from ?? null;
  if (o.stage === 'cold-start' && from !== null) throw new VrGrpoError('INVALID_ARGUMENT', 'cold start trains a fresh policy: it takes no parent checkpoint');
  if (o.stage !== 'cold-start' && from === null) throw new VrGrpoError('INVALID_ARGUMENT', `${o.stage} fine-tunes a parent policy: give its checkpoint folder`);
  if (from !== null && resolve(from) === out)
    throw new VrGrpoError('INVALID_ARGUMENT', `the output folder ${out} is the parent checkpoint; write the stage to a new folder`);

  // The parent is read before the data is prepared, so a wrong folder fails fast.
  let parent: { net: PolicyNet; manifest: LearnedManifest; dir: string } | null = null;
  if (from !== null) {
    const loaded = loadStagePolicy(from);
    parent = { net: loaded.net, manifest: loaded.checkpoint.manifest, dir: loaded.checkpoint.dir };
  }
  let result: StageResult | null = null;
  try {
    // rft and grpo keep the parent's answer mode unless told otherwise (then it must match).
    const answerMode = o.overrides?.answerMode ?? parent?.manifest.actions.answerMode;
    const options = compileStageOptions(config, { ...o.overrides, ...(answerMode === undefined ? {} : { answerMode }) });
    const data = o.data ?? (await prepareTrainingData(config, log));
    if (parent !== null) checkParent(parent.manifest, parent.dir, data, options.coldStart.answerMode);
    if (o.stage === 'cold-start') result = await runColdStart(data, options.coldStart, log);
    else if (parent === null) throw new VrGrpoError('INVALID_ARGUMENT', `${o.stage} needs a parent checkpoint`);
    else if (o.stage === 'rft') result = await runRft(data, parent.net, options.rft, log);
    else result = await runGrpo(data, parent.net, options.grpo, log);
    const parentRef = parent === null ? null : { version: parent.manifest.version, stage: parent.manifest.stage, policySha256: parent.manifest.policy.sha256 };
    saveStageCheckpoint(out, {
      stage: o.stage,
      version,
      net: result.net,
      answerMode: options.coldStart.answerMode,
      maxToolCalls: options.coldStart.maxToolCalls,
      layout: data.layout ?? 'v1',
      perception: data.perception,
      parent: parentRef,
      training: result.training,
      summary: headline(result.validation, data),
      metrics: { parent: parentRef, ...result.metrics },
    });
    const seconds = Math.round(((performance.now() - t0) / 1000) * 10) / 10;
    log(`${o.stage}: wrote ${out} (version ${version}) in ${seconds} s`);
    return {
      stage: o.stage,
      version,
      out,
      metricsFile: resolve(out, METRICS_FILE),
      parent: parent === null ? null : { version: parent.manifest.version, stage: parent.manifest.stage, dir: parent.dir },
      trainPairs: data.train.length,
      validationPairs: data.validation.length,
      validation: result.validation,
      seconds,
    };
  } finally {
    result?.net.dispose();
    parent?.net.dispose();
  }
}
