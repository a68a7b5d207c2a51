import { JudgeEngine } from '../../src/judge/engine.js';
import { runJudgeServiceContract } from './contract.js';
import { ScriptedReasoner } from './scripted-reasoner.js';

// The engine with a scripted backend: one look at two frames, then an answer.
runJudgeServiceContract('engine + scripted reasoner', () =>
  Promise.resolve(
    new JudgeEngine(
      new ScriptedReasoner((input, call) => {
        if (input.mode === 'pointwise') return '<answer> TA = 0.5, MQ = 0.5, VQ = 0.5, OA = 0.5 </answer>';
        return call % 2 === 0 && input.toolCallsLeft > 0
          ? `<tool_call>{"name":"select_frames","arguments":{"target_frames":[2,3]}}</tool_call>`
          : '<answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>';
      }),
    ),
  ),
);
