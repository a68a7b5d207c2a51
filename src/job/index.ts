/** Runs with an owner: a training job wired from the config, and its live monitoring. */
export { TrainingJob, worldRun, type JudgeSource, type MonitoringMode, type TrainingJobOptions } from './training-job.js';
export { startTrainMonitoring, type TrainMonitoring, type TrainMonitoringOptions } from './monitoring.js';
export { runWithDriftMonitor, type HackingRunOptions, type HackingRunResult, type HackingRunStep } from './drift-experiment.js';
