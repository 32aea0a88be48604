import type { MockStyle } from '../../helpers/mock-style';

/** The mock upstream's echo: says back what it was told, and what that cost. */
export const echoMock: MockStyle = {
  style: 'echo',
  serves: (url) => url.startsWith('/v2/'),

  reply(url, body, usage) {
    if (!url.startsWith('/v2/echo')) return { models: ['echo-1'] };
    return { echoed: body?.say ?? [], spent: { in: usage.input, out: usage.output } };
  },

  streamEvents(_url, body, chunks, usage) {
    const events: string[] = [];
    for (let i = 0; i < chunks; i++) events.push(`data: ${JSON.stringify({ piece: 'word ' })}`);
    if (body.report_usage === true) events.push(`data: ${JSON.stringify({ spent: { in: usage.input, out: chunks } })}`);
    return events;
  },
};
