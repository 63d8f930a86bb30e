import { existsSync } from 'node:fs';

/**
 * Test set-up for machines without a GPU: point Vulkan at SwiftShader (shipped by Debian's chromium)
 * when no ICD was chosen. On a machine with a GPU, VK_ICD_FILENAMES is unset and the file may be
 * absent; then Dawn finds the real driver.
 */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
