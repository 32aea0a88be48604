// Imported first by extension.ts, so the bundle evaluates it before any other module: activation
// time measured from here includes loading the extension's dependencies, not only activate().
export const loadStarted = performance.now();
