// llama.cpp (node-llama-cpp's prebuilt CPU build) as the numerical reference: teacher-forced next-token
// log-probabilities at every position, with an F32 KV cache and flash attention off so that its results
// are deterministic (see ../shared/reference/llama-cpp-oracle.md).
import { getLlama, type Llama } from 'node-llama-cpp';

let llamaPromise: Promise<Llama> | undefined;

export function oracleLlama(): Promise<Llama> {
  llamaPromise ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false });
  return llamaPromise;
}

/** Full next-token log-softmax after each position of `tokens`, from llama.cpp. */
export async function referenceLogprobs(modelPath: string, tokens: readonly number[], batchSize = 512): Promise<Float32Array[]> {
  const llama = await oracleLlama();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const context = await model.createContext({
      contextSize: Math.max(256, tokens.length + 16),
      batchSize,
      flashAttention: false,
      threads: 2,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
    });
    try {
      const seq = context.getSequence();
      const items = tokens.map((t) => [t, { generateNext: { logits: true, totalLogitWeight: true } }] as const);
      const res = await seq.controlledEvaluate(items as never);
      const V = model.tokens.trimmedTokenizer ? 0 : 0;
      void V;
      return res.map((r, i) => {
        const logits = r?.next?.logits;
        if (!logits) throw new Error(`llama.cpp returned no logits at position ${i}`);
        const out = new Float32Array(logits.size);
        let mx = -Infinity;
        for (const v of logits.values()) mx = Math.max(mx, v);
        let sum = 0;
        for (const v of logits.values()) sum += Math.exp(v - mx);
        const lse = mx + Math.log(sum);
        for (const [id, v] of logits) out[id] = v - lse;
        return out;
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}
