/** The parts of `sofa-hessian-node` (untyped CommonJS) that the Bolt content codec uses. */
declare module 'sofa-hessian-node' {
  interface HessianEncoder {
    write(value: unknown): unknown;
    get(): Buffer;
  }
  interface HessianDecoder {
    read(): unknown;
    readObject(): Record<string, unknown>;
  }
  type Compiled = (value: unknown, encoder: HessianEncoder, appClassMap?: unknown) => void;
  interface HessianVersion {
    Encoder: new (options?: { size?: number }) => HessianEncoder;
    Decoder: new (buf?: Buffer) => HessianDecoder;
    compile(type: { readonly type?: string; readonly $class?: string }, version: '1.0' | '2.0', classMap: unknown, options?: unknown): Compiled;
  }
  const hessian: { readonly v3: HessianVersion; readonly v4: HessianVersion };
  export default hessian;
}
