// The small part of the gpu.js 2.x API this backend uses, typed locally so that the package's
// types do not depend on gpu.js' own declaration file.

/** A gpu.js texture: a kernel output kept on the device (WebGL modes with `pipeline: true`). */
export interface GpuJsTexture {
  toArray(): ArrayLike<number>;
  delete(): void;
}

/** A compiled gpu.js kernel: call it with the kernel's arguments. */
export interface GpuJsKernel {
  (...args: unknown[]): Float32Array | GpuJsTexture;
  destroy(removeCanvasReferences?: boolean): void;
}

/** Settings of `gpu.createKernel` that this backend passes. */
export interface GpuJsKernelSettings {
  output: number[];
  pipeline?: boolean;
  immutable?: boolean;
  precision?: 'single' | 'unsigned';
  tactic?: 'speed' | 'balanced' | 'precision';
  loopMaxIterations?: number;
  dynamicArguments?: boolean;
  strictIntegers?: boolean;
  argumentTypes?: Record<string, string> | string[];
}

/** A gpu.js `GPU` instance. */
export interface GpuJsInstance {
  readonly mode: string;
  createKernel(source: string, settings: GpuJsKernelSettings): GpuJsKernel;
  destroy(): unknown;
}

/** The gpu.js `GPU` class (constructor plus the static feature flags this backend reads). */
export interface GpuJsConstructor {
  new (settings?: { mode?: string; canvas?: unknown; context?: unknown }): GpuJsInstance;
  readonly isHeadlessGLSupported?: boolean;
  readonly isWebGL2Supported?: boolean;
  readonly isWebGLSupported?: boolean;
}
