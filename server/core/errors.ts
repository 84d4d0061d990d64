// The one set of typed errors. Each adapter (CLI, penctl port, REST) maps a code to its own format.

export type PenErrorCode =
  | 'PEN_ERR_ARGUMENT'        // a bad command-line argument
  | 'PEN_ERR_ADDRESS'         // an address or backend spec that does not parse or resolve
  | 'PEN_ERR_COMMAND'         // an unknown or malformed control command
  | 'PEN_ERR_NOT_ENABLED'     // a command that needs a flag (exit without -X)
  | 'PEN_ERR_UNSUPPORTED'     // a pen feature that cannot work on this platform
  | 'PEN_ERR_IO';             // a file or socket that could not be opened

export class PenError extends Error {
  readonly code: PenErrorCode;
  constructor(code: PenErrorCode, message: string) {
    super(message);
    this.name = 'PenError';
    this.code = code;
  }
}
