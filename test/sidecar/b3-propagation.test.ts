// B3 propagation through the sidecar: stock clients call it and it writes the Zipkin tracer's headers; an app in sidecar
// mode writes none (see test/support/b3-suite.ts).
import { describeB3Propagation } from '../support/b3-suite.js';

describeB3Propagation('sidecar');
