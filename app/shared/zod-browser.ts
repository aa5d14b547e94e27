import { z } from "zod";

// zod 4 decides, when an object schema is created, whether it may compile a fast parser, by
// probing `new Function("")`. Our CSP has no 'unsafe-eval', so the browser reports that probe as a
// violation even though zod catches it. root.tsx imports this module first, so in the browser
// every schema is built after this line and never probes; the server keeps zod's fast parsers.
if (typeof document !== "undefined") z.config({ jitless: true });
