// B3 propagation in embedded mode: the app's mesh writes the Zipkin tracer's headers (see test/support/b3-suite.ts).
import { describeB3Propagation } from '../support/b3-suite.js';

describeB3Propagation('embedded');
