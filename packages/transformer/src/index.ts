/**
 * @attnkit/transformer: transformer blocks and whole models written like the papers (GPT-2, Llama,
 * BERT, an encoder-decoder, T5, BART, Whisper, ViT, CLIP), loading and saving Hugging Face checkpoints, and a training loop.
 * Causal LMs implement `@attnkit/sampling`'s CausalLM interface, with a KV cache.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { generate } from '@attnkit/sampling';
 * import { loadPretrained, type GPT2LMHeadModel } from '@attnkit/transformer';
 * // a Hugging Face folder (config.json + model.safetensors), here a tiny random GPT-2
 * const model = (await loadPretrained('packages/transformer/test/fixtures/gpt2-tiny')) as GPT2LMHeadModel;
 * const { sequences } = await generate(model, [[4, 6, 8]], { maxNewTokens: 20 });
 * sequences[0].length; // => 23
 * ```
 * @packageDocumentation
 */

export {
  hertzToMelSlaney,
  loadFeatureExtractor,
  melFilterBank,
  melToHertzSlaney,
  WhisperFeatureExtractor,
  type WhisperFeatureExtractorConfig,
} from './audio/whisper-feature-extractor.js';
export {
  type AttendOptions,
  attend,
  keyPaddingMask,
  mergeHeads,
  reorderModelCache,
  splitHeads,
} from './blocks/attention.js';
export {
  DecoderBlock,
  type DecoderBlockForwardOptions,
} from './blocks/decoder-block.js';
export { LMHead, normalParameter, SinusoidalEmbeddings, tokenEmbedding } from './blocks/embeddings.js';
export {
  type BlockOptions,
  EncoderBlock,
  type EncoderBlockForwardOptions,
} from './blocks/encoder-block.js';
export {
  type ActivationName,
  activation,
  FeedForward,
  type FeedForwardOptions,
  SwiGLU,
} from './blocks/feed-forward.js';
export {
  loadBalancingLoss,
  MixtureOfExperts,
  type MixtureOfExpertsOptions,
  type MixtureOfExpertsOutput,
  MoEExpert,
} from './blocks/moe.js';
export { PreLNBlock } from './blocks/pre-ln-block.js';
export {
  ROPE_TYPES,
  type RopeConfigFields,
  type RopeSettings,
  type RopeType,
  ropeAttentionFactor,
  ropeInvFreq,
  ropeSettings,
  ScaledRotary,
} from './blocks/rope-scaling.js';
export { EncoderDecoderCache } from './blocks/seq2seq.js';
export {
  CLIPImageProcessor,
  type CLIPImageProcessorConfig,
  clipImageProcessorConfigFromJson,
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  pilResize,
  type RawImage,
} from './clip-image-processor.js';
export {
  type GenerationDefaults,
  generationConfigFromJson,
  generationConfigToJson,
} from './generation-config.js';
export {
  AutoModel,
  AutoModelForCausalLM,
  AutoModelForImageClassification,
  AutoModelForMaskedLM,
  AutoModelForSeq2SeqLM,
  checkpointFiles,
  type FileLike,
  type LoadPretrainedOptions,
  type LoadProgress,
  loadCheckpointInto,
  loadPretrained,
  loadProgressLine,
  type ModelClass,
  modelClassFor,
  type PretrainedArchitectures,
  type PretrainedSource,
  type PretrainedTask,
  type PretrainedTasks,
  registerModelClass,
  saveModel,
} from './loading.js';
export {
  BART_POSITION_OFFSET,
  BartAttention,
  type BartConfig,
  BartDecoder,
  BartDecoderLayer,
  BartEncoder,
  BartEncoderLayer,
  BartForConditionalGeneration,
  type BartInputs,
  BartModel,
  bartConfig,
  bartConfigFromJson,
} from './models/bart.js';
export { PreTrainedModel } from './models/base.js';
export {
  BertAddNorm,
  BertAttention,
  type BertConfig,
  BertDecoder,
  BertEmbeddings,
  BertEncoder,
  BertForMaskedLM,
  type BertInputs,
  BertIntermediate,
  BertLayer,
  BertLMPredictionHead,
  BertModel,
  BertOnlyMLMHead,
  type BertOutputs,
  BertPooler,
  BertPredictionHeadTransform,
  BertSelfAttention,
  bertConfig,
  bertConfigFromJson,
} from './models/bert.js';
export {
  CLIPAttention,
  CLIPEncoder,
  type CLIPEncoderConfig,
  CLIPEncoderLayer,
  CLIPMLP,
  type CLIPTextConfig,
  CLIPTextEmbeddings,
  type CLIPTextInputs,
  CLIPTextModel,
  CLIPTextModelWithProjection,
  type CLIPTextModelWithProjectionOutputs,
  type CLIPTextOutputs,
  CLIPTextTransformer,
  clipTextConfig,
  clipTextConfigFromJson,
} from './models/clip.js';
export {
  type CLIPConfig,
  type CLIPConfigOptions,
  type CLIPInputs,
  CLIPModel,
  type CLIPOutputs,
  type CLIPVisionConfig,
  CLIPVisionEmbeddings,
  CLIPVisionModel,
  CLIPVisionModelWithProjection,
  type CLIPVisionModelWithProjectionOutputs,
  type CLIPVisionOutputs,
  CLIPVisionTransformer,
  clipConfig,
  clipConfigFromJson,
  clipLoss,
  clipVisionConfig,
  clipVisionConfigFromJson,
} from './models/clip-vision.js';
export {
  type EncoderDecoderConfig,
  EncoderDecoderModel,
  encoderDecoderConfig,
  encoderDecoderConfigFromJson,
  type Seq2SeqInputs,
  type Seq2SeqOutputs,
  TransformerStack,
} from './models/encoder-decoder.js';
export {
  type CausalLMForwardInputs,
  type CausalLMForwardOutputs,
  Conv1D,
  GPT2Attention,
  GPT2Block,
  type GPT2Config,
  GPT2LMHeadModel,
  GPT2MLP,
  GPT2Model,
  gpt2Config,
  gpt2ConfigFromJson,
} from './models/gpt2.js';
export {
  LlamaAttention,
  type LlamaConfig,
  LlamaDecoderLayer,
  LlamaForCausalLM,
  LlamaModel,
  llamaConfig,
  llamaConfigFromJson,
} from './models/llama.js';
export {
  type DecoderConfigBase,
  DecoderForCausalLM,
  type DecoderLayout,
  type DecoderModelOutputs,
  decoderFields,
  type FeedForwardResult,
  MistralAttention,
  type MistralConfig,
  MistralDecoderLayer,
  MistralForCausalLM,
  MistralModel,
  mistralConfig,
  mistralConfigFromJson,
  validateDecoderConfig,
} from './models/mistral.js';
export {
  type MixtralConfig,
  MixtralDecoderLayer,
  MixtralForCausalLM,
  type MixtralForwardInputs,
  type MixtralForwardOutputs,
  mixtralAuxLoss,
  mixtralConfig,
  mixtralConfigFromJson,
} from './models/mixtral.js';
export {
  type Qwen2Config,
  Qwen2ForCausalLM,
  qwen2Config,
  qwen2ConfigFromJson,
  qwen2Windows,
} from './models/qwen2.js';
export {
  shiftTokensRight,
  T5_FEED_FORWARD_PROJ,
  T5Attention,
  T5Block,
  type T5Config,
  T5DenseActDense,
  T5DenseGatedActDense,
  T5EncoderModel,
  T5ForConditionalGeneration,
  type T5Inputs,
  T5LayerCrossAttention,
  T5LayerFF,
  T5LayerSelfAttention,
  type T5Outputs,
  T5Stack,
  t5Config,
  t5ConfigFromJson,
} from './models/t5.js';
export {
  ViTAttention,
  type ViTConfig,
  ViTDense,
  ViTEmbeddings,
  ViTEncoder,
  ViTForImageClassification,
  ViTLayer,
  ViTModel,
  type ViTModelOptions,
  type ViTModelOutputs,
  ViTPatchEmbeddings,
  ViTPooler,
  ViTSelfAttention,
  vitConfig,
  vitConfigFromJson,
} from './models/vit.js';
export {
  WhisperAttention,
  type WhisperConfig,
  WhisperDecoder,
  WhisperDecoderLayer,
  WhisperEncoder,
  WhisperEncoderLayer,
  WhisperForConditionalGeneration,
  type WhisperInputs,
  WhisperModel,
  whisperConfig,
  whisperConfigFromJson,
  whisperSinusoids,
} from './models/whisper.js';
export {
  type TokenIdLookup,
  WHISPER_LANGUAGE_CODES,
  WHISPER_LANGUAGES,
  type WhisperPromptOptions,
  whisperPromptIds,
} from './models/whisper-prompt.js';
export { type ExportOnnxOptions, exportOnnx, onnxFolderFiles, saveOnnxFolder } from './onnx/export.js';
export {
  type AutomaticSpeechRecognitionModel,
  type AutomaticSpeechRecognitionOptions,
  type AutomaticSpeechRecognitionOutput,
  type AutomaticSpeechRecognitionPipeline,
  type WhisperGenerationSettings,
  whisperGenerationSettings,
} from './pipelines/automatic-speech-recognition.js';
export type {
  FeatureExtractionModel,
  FeatureExtractionOptions,
  FeatureExtractionPipeline,
  FillMaskModel,
  FillMaskOptions,
  FillMaskOutput,
  FillMaskPipeline,
} from './pipelines/encoder-tasks.js';
export type {
  ImageClassificationModel,
  ImageClassificationOptions,
  ImageClassificationOutput,
  ImageClassificationPipeline,
} from './pipelines/image-classification.js';
export {
  type ImageProcessorConfig,
  imageProcessorFromJson,
  preprocessImage,
  resizeBilinear,
} from './pipelines/image-processor.js';
export {
  type PipelineDType,
  type PipelineFactory,
  type PipelineOptions,
  type Pipelines,
  type PipelineTask,
  pipeline,
  pipelineTasks,
  registerPipeline,
} from './pipelines/pipeline.js';
export type {
  ChatGenerationOutput,
  TextGenerationModel,
  TextGenerationOptions,
  TextGenerationOutput,
  TextGenerationPipeline,
} from './pipelines/text-generation.js';
export {
  CharTokenizer,
  loadTinyGPT,
  TINY_GPT_FILES,
  TINY_GPT_URL,
  type TinyGPTReport,
  tinyGPTReport,
} from './tiny-gpt.js';
export {
  loadTinyT5,
  numberToWords,
  TINY_T5_FILES,
  type TinyT5Report,
  TinyT5Tokenizer,
  tinyT5Report,
} from './tiny-t5.js';
export {
  decodeWav,
  loadTinyWhisper,
  TINY_WHISPER_FILES,
  type TinyWhisperReport,
  type TinyWhisperScore,
  tinyWhisperClip,
  tinyWhisperReport,
} from './tiny-whisper.js';
export { type BestOfNOptions, type BestOfNResult, bestOfN } from './training/best-of-n.js';
export {
  type BatchSource,
  exampleBatches,
  type LMBatch,
  lmBatches,
  lmEvalBatches,
} from './training/data.js';
export {
  type DPOLossOptions,
  type DPOLossOutput,
  type DPOStats,
  type DPOTrainOptions,
  type DPOTrainProgress,
  type DPOTrainResult,
  dpoBatchLoss,
  dpoLoss,
  dpoStats,
  dpoTrain,
} from './training/dpo.js';
export {
  type AnswerBatch,
  answerLogProbsFromLogits,
  type LogProbModel,
  referenceKL,
  sequenceLogProbs,
} from './training/logprobs.js';
export {
  applyLora,
  type LoraConfig,
  LoraLinear,
  loadLoraAdapter,
  loraAdapterFiles,
  loraConfigFromJson,
  loraLayers,
  mergeAndUnloadLora,
  mergeLora,
  saveLoraAdapter,
  unloadLora,
  unmergeLora,
} from './training/lora.js';
export { causalLMLoss, type LogitsModel, type Seq2SeqBatch, seq2seqLoss } from './training/losses.js';
export {
  type MLMArrays,
  type MLMBatch,
  type MLMCollatorOptions,
  type MLMExample,
  maskedLMLoss,
  mlmCollator,
} from './training/mlm.js';
export {
  checkPreferencePairs,
  type PreferenceBatch,
  type PreferenceCollatorOptions,
  type PreferenceExample,
  preferenceCollator,
} from './training/preference.js';
export {
  bradleyTerryLoss,
  evaluateRewardModel,
  type RewardEvaluation,
  RewardModel,
  type RewardModelOptions,
  type RewardOutput,
  rewardModelLoss,
} from './training/reward.js';
export {
  type FitPowerLawOptions,
  fitPowerLaw,
  type PowerLawFit,
  powerLaw,
} from './training/scaling-laws.js';
export { type SFTBatch, type SFTCollatorOptions, type SFTExample, sftCollator } from './training/sft.js';
export {
  collateSeq2Seq,
  randomSpansNoiseMask,
  type SpanCorruptionBatchOptions,
  type SpanCorruptionOptions,
  spanCorruption,
  spanCorruptionBatches,
} from './training/span-corruption.js';
export {
  type TextInfillingBatchOptions,
  type TextInfillingOptions,
  textInfilling,
  textInfillingBatches,
} from './training/text-infilling.js';
export {
  evaluate,
  progressLine,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  train,
} from './training/train.js';
