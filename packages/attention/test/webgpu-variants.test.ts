// The attention variants on backend-webgpu (SwiftShader without a GPU): every case of
// variant-cases.ts (DiffAttention and DiffTransformerBlock, block-sparse layouts, multi-query,
// grouped-query and sliding-window attention), outputs and gradients against the float64 / torch
// references (scripts/reference_diff_attention.py, scripts/reference_block_sparse.py,
// scripts/reference/attention.py) at the webgpu tolerance, 1e-3 relative (atol 1e-4).
import { existsSync } from 'node:fs';
import { setBackend } from '@attnkit/tensor-core';
import { beforeAll, vi } from 'vitest';
import { defineVariantCases } from './variant-cases.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 120_000 });

beforeAll(async () => {
  // imported here so that VK_ICD_FILENAMES is set before Dawn loads
  const { initWebGPU } = await import('@attnkit/backend-webgpu');
  await initWebGPU();
  setBackend('webgpu');
});

defineVariantCases('webgpu', { rtol: 1e-3, atol: 1e-4 });
