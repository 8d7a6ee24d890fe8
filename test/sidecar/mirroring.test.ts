// Request mirroring through the sidecar: the app (sidecar mode) sends its calls to the sidecar, which
// copies them to the mirror cluster; the app copies none (see test/support/mirror-suite.ts).
import { describeMirroring } from '../support/mirror-suite.js';

describeMirroring('sidecar');
