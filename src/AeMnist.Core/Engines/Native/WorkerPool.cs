// The engine's threads: a fixed set of persistent workers plus the calling thread, handing out work items by an
// atomic counter. Parallel.For costs 5-120 µs per region on the reference machine, too much for kernels of
// 50-500 µs; here a region costs one semaphore release and one wait. Results never depend on which thread ran an
// item: callers give each item its own output (a shard's gradient, a slice of rows) and combine them in item order.
using System.Runtime.ExceptionServices;

namespace AeMnist.Engines.Native;

public sealed class WorkerPool : IDisposable
{
    private readonly object _runLock = new();
    private readonly SemaphoreSlim _start = new(0);
    private readonly ManualResetEventSlim _done = new(false);
    private Action<int, int>? _body;
    private int _count;
    private int _next;
    private int _running;
    private ExceptionDispatchInfo? _error;
    private volatile bool _disposed;

    /// <summary>A pool of <paramref name="threads"/> threads: the caller of <see cref="Run"/> and threads - 1 workers.</summary>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        for (int worker = 1; worker < threads; worker++)
        {
            int id = worker;
            var thread = new Thread(() => Loop(id)) { IsBackground = true, Name = $"aemnist-worker-{id}" };
            thread.Start();
        }
    }

    /// <summary>Threads that run items, the caller included.</summary>
    public int Threads { get; }

    /// <summary>
    /// Calls <paramref name="body"/>(item, worker) for every item in [0, <paramref name="count"/>), spread over the
    /// pool's threads; worker is in [0, Threads) and no two concurrent calls share it. Returns when all are done and
    /// rethrows the first exception. Calls from several threads take turns; a body must not call Run itself.
    /// </summary>
    public void Run(int count, Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0) return;
        if (Threads == 1 || count == 1)
        {
            for (int item = 0; item < count; item++) body(item, 0);
            return;
        }
        lock (_runLock)
        {
            int helpers = Math.Min(Threads, count) - 1;
            _body = body;
            _count = count;
            _next = -1;
            _error = null;
            _running = helpers;
            _done.Reset();
            _start.Release(helpers);
            Work(0);
            _done.Wait();
            _body = null;
            _error?.Throw();
        }
    }

    /// <summary>Ends the workers (after any run in progress).</summary>
    public void Dispose()
    {
        lock (_runLock)
        {
            if (_disposed) return;
            _disposed = true;
            if (Threads > 1) _start.Release(Threads - 1);
        }
    }

    private void Loop(int worker)
    {
        while (true)
        {
            _start.Wait();
            if (_disposed) return;
            Work(worker);
            if (Interlocked.Decrement(ref _running) == 0) _done.Set();
        }
    }

    private void Work(int worker)
    {
        Action<int, int> body = _body!;
        try
        {
            int item;
            while ((item = Interlocked.Increment(ref _next)) < _count) body(item, worker);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            Volatile.Write(ref _next, int.MaxValue / 2);  // the others stop taking items
        }
    }
}
