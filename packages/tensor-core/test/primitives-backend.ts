// The backend without fused kernels that tests use to reach tensor-core's reference compositions:
// the reference backend's 'reference-primitives' registration (reference-backend.ts).
export { PRIMITIVES_ONLY } from './reference-backend.js';
