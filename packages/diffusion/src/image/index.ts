export { adler32, crc32, encodePng, encodePngSync, pngBlob, savePng } from './png.js';
export { makeImageGrid, type RgbaImage, type TensorToRgbaOptions, tensorToRgba } from './rgba.js';
