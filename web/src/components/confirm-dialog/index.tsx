// The one confirmation every destructive change goes through (state.confirm()).
import type { AppState } from '../../state.ts';
import { Dialog } from '../dialog/index.tsx';

export function ConfirmDialog({ state }: { state: AppState }) {
  const req = state.confirmRequest.value;
  if (!req) return null;
  return (
    <Dialog
      title={req.title}
      testId="confirm-dialog"
      onClose={() => req.resolve(false)}
      onSubmit={() => req.resolve(true)}
      footer={<>
        <button type="button" class="btn" onClick={() => req.resolve(false)}>Cancel</button>
        <button type="submit" class="btn danger solid" data-testid="confirm-ok" autoFocus>{req.action}</button>
      </>}
    >
      <p>{req.body}</p>
    </Dialog>
  );
}
