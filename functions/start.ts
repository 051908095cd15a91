import { enableCompileCache } from '../shared/runtime/compile-cache.js';

// The Functions entry point (package.json "main"): the compile cache first, then the app and its registrations.
enableCompileCache();
await import('./index.js');
