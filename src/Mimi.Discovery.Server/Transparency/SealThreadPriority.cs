using System.Runtime.InteropServices;

namespace Mimi.Discovery.Server.Transparency;

/// <summary>
/// Runs the seal's CPU work below the priority of request threads: on an idle machine the seal
/// takes every core, and when lookups arrive the scheduler gives them the cores first, so a large
/// seal slows lookups by little. On Linux a thread's nice value is its own (setpriority(2) with
/// the thread id); elsewhere the runtime's thread priority is used.
/// </summary>
internal static partial class SealThreadPriority
{
    /// <summary>The nice value of seal threads (0 is the default, 19 the lowest priority).</summary>
    public const int Nice = 10;

    private const int PrioProcess = 0;

    /// <summary>Lowers the calling thread's priority for the rest of its life; true when the system accepted it.</summary>
    public static bool LowerCurrentThread()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                return SetPriority(PrioProcess, GetThreadId(), Nice) == 0;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return false;
            }
        }

        Thread.CurrentThread.Priority = ThreadPriority.BelowNormal;
        return true;
    }

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
