import type { MockStyle } from '../../helpers/mock-style';
import { openaiMock } from '../openai/mock';

/** The OpenAI path an Azure path answers as: `/openai/deployments/d/chat/completions?api-version=x` -> `/v1/chat/completions`. */
function openaiPath(url: string): string {
  const path = url.split('?')[0]!;
  const deployment = /^\/openai\/deployments\/[^/]+(\/.+)$/.exec(path);
  if (deployment) return `/v1${deployment[1]}`;
  return path.startsWith('/openai/v1/') ? path.slice('/openai'.length) : path;
}

/** The mock upstream's Azure OpenAI: OpenAI's answers at Azure's paths, with the deployment named by the conformance bundle. */
export const azureOpenAIMock: MockStyle = {
  style: 'azure-openai',
  serves: (url) => url.startsWith('/openai/'),
  providerFields: 'deployments: { conformance-model: conformance-model, some-id: conformance-model }',
  reply: (url, body, usage) => openaiMock.reply(openaiPath(url), body, usage),
  streamEvents: (url, body, chunks, usage) => openaiMock.streamEvents(openaiPath(url), body, chunks, usage),
};
