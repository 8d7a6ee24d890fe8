// Request mirroring in embedded mode: the app's own calls are copied to the mirror cluster (see
// test/support/mirror-suite.ts for what is checked).
import { describeMirroring } from '../support/mirror-suite.js';

describeMirroring('embedded');
