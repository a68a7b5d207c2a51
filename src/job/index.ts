/** Runs with an owner: a training job wired from the config, and its live monitoring. */
export { TrainingJob, type JudgeSource, type MonitoringMode, type TrainingJobOptions } from './training-job.js';
export { startTrainMonitoring, type TrainMonitoring, type TrainMonitoringOptions } from './monitoring.js';
