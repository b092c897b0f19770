//! The G.711 converters allocate nothing per 20 ms frame once warm (DESIGN: no per-frame
//! allocation on the real-time path). A counting global allocator watches this thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use voxray::audio::codec::g711::{Decoder, Encoder, Law, PIPELINE_RATE};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

#[test]
fn steady_frames_allocate_nothing() {
    for law in [Law::Mulaw, Law::Alaw] {
        let mut dec = Decoder::new(law).unwrap();
        let mut enc = Encoder::new(law, PIPELINE_RATE).unwrap();
        // 20 ms of a tone: 160 codes in, 640 bytes of 16 kHz PCM out, and back.
        let pcm: Vec<i16> = (0..160)
            .map(|i| (6000.0 * (i as f32 * 0.3).sin()) as i16)
            .collect();
        let mut codes = Vec::with_capacity(160);
        law.encode(&pcm, &mut codes);
        let mut pcm16k = Vec::with_capacity(4096);
        let mut back = Vec::with_capacity(4096);
        for _ in 0..20 {
            pcm16k.clear();
            back.clear();
            dec.decode(&codes, &mut pcm16k);
            enc.encode(&pcm16k, &mut back);
        }
        let before = allocs();
        let mut produced = 0;
        for _ in 0..500 {
            pcm16k.clear();
            back.clear();
            dec.decode(&codes, &mut pcm16k);
            enc.encode(&pcm16k, &mut back);
            produced += back.len();
        }
        let during = allocs() - before;
        assert_eq!(during, 0, "{law:?}: {during} allocations in 500 frames");
        assert!(produced >= 500 * 150, "{law:?}: {produced} codes out");
    }
}
