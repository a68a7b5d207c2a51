import { createVlmJudge } from '../../src/judge/backends/vlm/index.js';
import type { JudgeService } from '../../src/judge/judge-service.js';
import { runJudgeServiceContract } from './contract.js';
import { ScriptedChatServer, sensibleScript } from './scripted-chat-server.js';

/** The VLM backend with `profile`, against a real chat-completions server on loopback that plays a well-behaved VR-Thinker. */
const vlmService = (profile: 'vr-thinker-released' | 'project') => async (): Promise<JudgeService> => {
  const server = await ScriptedChatServer.start(sensibleScript);
  const engine = await createVlmJudge({ vlm: { baseUrl: server.baseUrl, model: 'vr-thinker-7b', profile }, env: {} });
  const service: JudgeService = {
    backendName: engine.backendName,
    rmVersion: () => engine.rmVersion(),
    judge: (request, hooks) => engine.judge(request, hooks),
    close: async () => {
      await engine.close();
      await server.close();
    },
  };
  return service;
};

runJudgeServiceContract('vlm backend, released profile + scripted chat-completions server', vlmService('vr-thinker-released'), { pointwise: false });
runJudgeServiceContract('vlm backend, project profile + scripted chat-completions server', vlmService('project'));
