export { type ClassConditionalOptions, ClassConditionalPipeline } from './class-conditional-pipeline.js';
export { ShapeClassifier, type ShapeClassifierConfig } from './classifier.js';
export {
  loadShapeClassifier,
  loadTinyShapesModel,
  loadTinyShapesPipeline,
  TINY_SHAPES_CLASSES,
  type TinyShapesLoadOptions,
  type TinyShapesModel,
} from './tiny-shapes.js';
