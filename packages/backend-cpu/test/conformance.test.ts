import '@attnkit/backend-cpu';
import { defineConformanceSuite } from '@attnkit/tensor-core/testing';
import { describe, it } from 'vitest';

defineConformanceSuite('cpu', { describe, it });
