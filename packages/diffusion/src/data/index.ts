export {
  drawShape,
  makeShapes,
  randomShapeParams,
  SHAPE_CLASSES,
  type ShapeClass,
  type ShapeParams,
  type ShapesData,
  type ShapesOptions,
} from './shapes.js';
