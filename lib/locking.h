/* SPDX-License-Identifier: MIT */
/*
 * The lock order of libgmem, and where libgmemvu's device locks sit in
 * it: the one statement of it. Files say which of these locks they take
 * and point here.
 *
 * Outermost first; a thread holding a lock takes only locks below it:
 *
 *   vm->slots_lock (rwlock: gmem_vm_prefault() holds it for reading, so
 *   pre-faults of one VM run side by side; every other holder writes)
 *     -> vm->policy_lock (mutex; the manager's conversions hold it from
 *        reading the policy map to committing with it)
 *       -> file->invalidate_lock (rwlock; several files: ascending
 *          file->id)
 *         -> file->gate (closed only with the invalidate lock held for
 *            writing; several files: the same order)
 *           -> leaves: the address registry's lock (registry.c), the VMA
 *              budget lock (mapping.c), the fd list lock (store.c)
 *
 * mempolicy.c's policy_lock is taken alone, around the registry lock.
 *
 * Any lock may be skipped (pin.c takes an invalidate lock alone; the
 * registry is entered from anywhere), never reversed.
 *
 * Callbacks: a device listener's map/unmap/release runs on the thread
 * that changed the file, with that file's invalidate lock held for
 * writing (and vm->slots_lock for a change by gpa, or on a VM that
 * mirrors to KVM). A call back into the library that would take one of
 * those locks returns -EDEADLK (gm_cb_check); queries inside a callback
 * read under the caller's lock (gm_cb_holds).
 *
 * libgmemvu (vhost/) places a device's two locks around these:
 *
 *   dev->attach_lock -> [the locks above] -> dev->lock
 *
 * attach_lock is held across gmem_listen()/gmem_unlisten() (attach,
 * close), so it is never taken inside a listener callback; dev->lock is
 * taken inside the callbacks, under the invalidate lock, and no libgmem
 * call is made while it is held.
 *
 * RCU (liburcu-bp): vm->slots is an RCU-published array, replaced whole
 * under slots_lock, read in read-side sections that take none of these
 * locks; plain slots' registry ranges are freed after a grace period.
 * Accessors additionally enter the reader gate (gate.h) of every file
 * they copy from, and never wait on a lock above while inside it.
 */
#ifndef GMEM_LOCKING_H
#define GMEM_LOCKING_H
#endif /* GMEM_LOCKING_H */
