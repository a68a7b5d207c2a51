/**
 * The project's own ONNX exporter for dense networks: a trunk of Gemm(+Relu) layers feeding several classification
 * heads, each a Gemm producing logits (and optionally a Softmax), written as an ONNX ModelProto (opset 13, IR 7) with
 * the weights as initializers. Only this folder touches the onnx-proto package.
 */
import onnxProto from 'onnx-proto';
import { VrGrpoError } from '../errors/index.js';

const { onnx } = onnxProto;

/** ONNX operator set the exporter targets (Gemm, Relu, Softmax with the opset-13 `axis = -1` default). */
export const ONNX_OPSET = 13;
/** IR version written into the model (IR 7 is the one matching opset 13). */
export const ONNX_IR_VERSION = 7;

/** One dense layer `y = x · W + b` with `W` stored row-major as `[inSize, outSize]`. */
export interface DenseLayer {
  readonly inSize: number;
  readonly outSize: number;
  /** Row-major `[inSize, outSize]`. */
  readonly weights: Float32Array;
  /** Length `outSize`. */
  readonly bias: Float32Array;
}

/** A trunk layer: dense, then an optional ReLU. */
export interface TrunkLayer extends DenseLayer {
  /** Activation after the layer; default `'relu'`. */
  readonly activation?: 'relu' | 'none';
}

/** A classification head on the trunk's output: outputs `<name>_logits` and, with `softmax`, `<name>_probs`. */
export interface HeadLayer extends DenseLayer {
  /** Output name stem; letters, digits and `_` only. */
  readonly name: string;
  /** Also output a Softmax over the last axis named `<name>_probs`; default true. */
  readonly softmax?: boolean;
}

/** Everything the exporter needs for one dense network. */
export interface MlpSpec {
  /** The single float32 input `[N, size]` (N dynamic, named `batch`). */
  readonly input: { readonly name: string; readonly size: number };
  /** Zero or more trunk layers applied in order. */
  readonly trunk: readonly TrunkLayer[];
  /** At least one head, each reading the trunk's last activation. */
  readonly heads: readonly HeadLayer[];
  /** Graph name; default `'mlp'`. */
  readonly graphName?: string;
  /** Producer recorded in the model; default `{ name: 'vr-grpo', version: '0' }`. */
  readonly producer?: { readonly name: string; readonly version: string };
  /** Free-form string metadata stored as `metadata_props`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Model doc string. */
  readonly docString?: string;
}

/** Names of the outputs an {@link MlpSpec} produces, in graph order. */
export function mlpOutputNames(spec: Pick<MlpSpec, 'heads'>): string[] {
  return spec.heads.flatMap((h) => ((h.softmax ?? true) ? [`${h.name}_logits`, `${h.name}_probs`] : [`${h.name}_logits`]));
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(message: string, details: Record<string, unknown> = {}): VrGrpoError {
  return new VrGrpoError('INVALID_ARGUMENT', `exportMlpToOnnx: ${message}`, { details });
}

function checkDense(layer: DenseLayer, what: string, expectedIn: number): void {
  if (!Number.isInteger(layer.inSize) || !Number.isInteger(layer.outSize) || layer.inSize < 1 || layer.outSize < 1) {
    throw invalid(`${what} has invalid sizes ${layer.inSize}×${layer.outSize}`, { layer: what });
  }
  if (layer.inSize !== expectedIn) throw invalid(`${what} expects ${layer.inSize} inputs but receives ${expectedIn}`, { layer: what });
  if (layer.weights.length !== layer.inSize * layer.outSize) {
    throw invalid(`${what} weights have ${layer.weights.length} values, expected ${layer.inSize * layer.outSize}`, { layer: what });
  }
  if (layer.bias.length !== layer.outSize) throw invalid(`${what} bias has ${layer.bias.length} values, expected ${layer.outSize}`, { layer: what });
  for (const v of layer.weights) if (!Number.isFinite(v)) throw invalid(`${what} weights contain a non-finite value`, { layer: what });
  for (const v of layer.bias) if (!Number.isFinite(v)) throw invalid(`${what} bias contains a non-finite value`, { layer: what });
}

/** Little-endian float32 bytes (ONNX raw_data is little-endian whatever the host). */
function rawFloats(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return out;
}

function floatType(dims: readonly (number | string)[]): onnxProto.onnx.ITypeProto {
  return {
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  };
}

/**
 * Serialises a dense network to ONNX bytes. Validates sizes and finiteness (INVALID_ARGUMENT); the result loads in any
 * ONNX runtime supporting opset 13.
 */
export function exportMlpToOnnx(spec: MlpSpec): Uint8Array {
  if (!NAME_RE.test(spec.input.name)) throw invalid(`input name ${JSON.stringify(spec.input.name)} is not a plain identifier`);
  if (spec.heads.length === 0) throw invalid('at least one head is required');
  const names = new Set<string>([spec.input.name]);
  for (const h of spec.heads) {
    if (!NAME_RE.test(h.name)) throw invalid(`head name ${JSON.stringify(h.name)} is not a plain identifier`);
    for (const n of mlpOutputNames({ heads: [h] })) {
      if (names.has(n)) throw invalid(`duplicate tensor name ${n}`);
      names.add(n);
    }
  }
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const addDense = (layer: DenseLayer, prefix: string, input: string, output: string): void => {
    initializers.push(
      { name: `${prefix}.weight`, dataType: onnx.TensorProto.DataType.FLOAT, dims: [layer.inSize, layer.outSize], rawData: rawFloats(layer.weights) },
      { name: `${prefix}.bias`, dataType: onnx.TensorProto.DataType.FLOAT, dims: [layer.outSize], rawData: rawFloats(layer.bias) },
    );
    nodes.push({
      name: `${prefix}.gemm`,
      opType: 'Gemm',
      input: [input, `${prefix}.weight`, `${prefix}.bias`],
      output: [output],
      attribute: [
        { name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 },
        { name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 },
        { name: 'transA', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        { name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
      ],
    });
  };

  let current = spec.input.name;
  let width = spec.input.size;
  spec.trunk.forEach((layer, i) => {
    checkDense(layer, `trunk layer ${i}`, width);
    const pre = `trunk${i}.linear`;
    addDense(layer, `trunk${i}`, current, pre);
    if ((layer.activation ?? 'relu') === 'relu') {
      nodes.push({ name: `trunk${i}.relu`, opType: 'Relu', input: [pre], output: [`trunk${i}.out`] });
      current = `trunk${i}.out`;
    } else current = pre;
    width = layer.outSize;
  });

  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  for (const head of spec.heads) {
    checkDense(head, `head ${head.name}`, width);
    const logits = `${head.name}_logits`;
    addDense(head, `head_${head.name}`, current, logits);
    outputs.push({ name: logits, type: floatType(['batch', head.outSize]) });
    if (head.softmax ?? true) {
      const probs = `${head.name}_probs`;
      nodes.push({
        name: `head_${head.name}.softmax`,
        opType: 'Softmax',
        input: [logits],
        output: [probs],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }],
      });
      outputs.push({ name: probs, type: floatType(['batch', head.outSize]) });
    }
  }

  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: spec.producer?.name ?? 'vr-grpo',
    producerVersion: spec.producer?.version ?? '0',
    docString: spec.docString ?? '',
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.graphName ?? 'mlp',
      node: nodes,
      initializer: initializers,
      input: [{ name: spec.input.name, type: floatType(['batch', spec.input.size]) }],
      output: outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function floatsOf(t: onnxProto.onnx.ITensorProto): Float32Array {
  if (t.rawData !== null && t.rawData !== undefined && t.rawData.length > 0) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  }
  return Float32Array.from(t.floatData ?? []);
}

/**
 * Reads back a dense network written by {@link exportMlpToOnnx} (the inverse, for checks and for loading a shipped
 * model into another runtime). MODEL_INVALID for bytes that are not such a model.
 */
export function readMlpFromOnnx(bytes: Uint8Array): MlpSpec {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new VrGrpoError('MODEL_INVALID', `not an ONNX model: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const graph = model.graph;
  const fail = (what: string): never => {
    throw new VrGrpoError('MODEL_INVALID', `not a dense network written by exportMlpToOnnx: ${what}`);
  };
  if (graph === null || graph === undefined) return fail('no graph');
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const input = graph.input?.[0];
  const inDims = input?.type?.tensorType?.shape?.dim ?? [];
  const inSize = Number(inDims[1]?.dimValue ?? 0);
  if (input?.name === undefined || input.name === null || inSize < 1) return fail('no [batch, size] input');
  const dense = (prefix: string): DenseLayer => {
    const w = inits.get(`${prefix}.weight`);
    const b = inits.get(`${prefix}.bias`);
    if (w === undefined || b === undefined) return fail(`missing initializers of ${prefix}`);
    const [rows, cols] = (w.dims ?? []).map(Number);
    if (rows === undefined || cols === undefined) return fail(`${prefix}.weight is not 2-D`);
    return { inSize: rows, outSize: cols, weights: floatsOf(w), bias: floatsOf(b) };
  };
  const nodes = graph.node ?? [];
  const trunk: TrunkLayer[] = [];
  for (let i = 0; nodes.some((n) => n.name === `trunk${i}.gemm`); i++) {
    trunk.push({ ...dense(`trunk${i}`), activation: nodes.some((n) => n.name === `trunk${i}.relu`) ? 'relu' : 'none' });
  }
  const heads: HeadLayer[] = nodes
    .filter((n) => n.opType === 'Gemm' && (n.name ?? '').startsWith('head_'))
    .map((n) => {
      const name = (n.name ?? '').slice('head_'.length, -'.gemm'.length);
      return { name, ...dense(`head_${name}`), softmax: nodes.some((m) => m.name === `head_${name}.softmax`) };
    });
  if (heads.length === 0) return fail('no heads');
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  return {
    input: { name: input.name, size: inSize },
    trunk,
    heads,
    graphName: graph.name ?? 'mlp',
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    metadata,
    docString: model.docString ?? '',
  };
}

/** An attribute of a {@link GraphNode}: an int, a float, a list of ints, or a float32 tensor. */
export type GraphAttribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly ints: readonly number[] }
  | { readonly name: string; readonly floatTensor: { readonly dims: readonly number[]; readonly values: readonly number[] } };

/** One operator of a {@link GraphSpec}. */
export interface GraphNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attributes?: readonly GraphAttribute[];
}

/** A constant of a {@link GraphSpec}: float32 (row-major) or int64 values. */
export type GraphInitializer =
  | { readonly name: string; readonly dims: readonly number[]; readonly float32: Float32Array }
  | { readonly name: string; readonly dims: readonly number[]; readonly int64: readonly number[] };

/** A float32 graph input or output; a string dimension is symbolic (e.g. `'batch'`). */
export interface GraphValue {
  readonly name: string;
  readonly dims: readonly (number | string)[];
}

/** A general ONNX graph (opset {@link ONNX_OPSET}): for models that are not dense networks, such as test fixtures. */
export interface GraphSpec {
  readonly inputs: readonly GraphValue[];
  readonly outputs: readonly GraphValue[];
  readonly nodes: readonly GraphNode[];
  readonly initializers?: readonly GraphInitializer[];
  /** Graph name; default `'graph'`. */
  readonly name?: string;
}

function attributeProto(a: GraphAttribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name: a.name, type: T.INT, i: a.int };
  if ('float' in a) return { name: a.name, type: T.FLOAT, f: a.float };
  if ('ints' in a) return { name: a.name, type: T.INTS, ints: [...a.ints] };
  return {
    name: a.name,
    type: T.TENSOR,
    t: { dataType: onnx.TensorProto.DataType.FLOAT, dims: [...a.floatTensor.dims], rawData: rawFloats(Float32Array.from(a.floatTensor.values)) },
  };
}

/**
 * Serialises a general graph to ONNX bytes (no validation beyond names: the runtime checks the graph when it loads it).
 * INVALID_ARGUMENT for a tensor name that is empty.
 */
export function exportGraphToOnnx(spec: GraphSpec): Uint8Array {
  const names = [...spec.inputs, ...spec.outputs].map((v) => v.name).concat(spec.nodes.flatMap((n) => [...n.inputs, ...n.outputs]));
  if (names.some((n) => n.length === 0)) throw invalid('a tensor name is empty');
  const initializer: onnxProto.onnx.ITensorProto[] = (spec.initializers ?? []).map((t) =>
    'float32' in t
      ? { name: t.name, dataType: onnx.TensorProto.DataType.FLOAT, dims: [...t.dims], rawData: rawFloats(t.float32) }
      : { name: t.name, dataType: onnx.TensorProto.DataType.INT64, dims: [...t.dims], int64Data: [...t.int64] },
  );
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'vr-grpo',
    producerVersion: '0',
    graph: {
      name: spec.name ?? 'graph',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.opType.toLowerCase()}${i}`,
        opType: n.opType,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: (n.attributes ?? []).map(attributeProto),
      })),
      initializer,
      input: spec.inputs.map((v) => ({ name: v.name, type: floatType(v.dims) })),
      output: spec.outputs.map((v) => ({ name: v.name, type: floatType(v.dims) })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
