// --engine, --device and --threads: read and validated once per command against the program's engines.
using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Runs;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
    /// <summary>--engine, --device and --threads: which engine computes, where, with how many threads; checked in one place.</summary>
    internal sealed class ComputeSet
    {
        public readonly Option<string> Engine = new("--engine")
        {
            Description = $"Engine that computes the model: {string.Join("; ", App.Engines.Providers.Select(p => $"{p.Name}: {p.Summary}"))}",
            DefaultValueFactory = _ => Engines.Native.NativeEngine.EngineName,
            HelpName = string.Join("|", App.Engines.Providers.Select(p => p.Name)),
        };
        public readonly Option<string> Device = new("--device")
        {
            Description = $"Compute device: {string.Join("; ", App.Engines.Providers.Select(p => $"the {p.Name} engine computes on {string.Join(" or ", p.Devices)}"))}",
            DefaultValueFactory = _ => ComputeOptions.Cpu,
            HelpName = string.Join("|", ComputeOptions.KnownDevices),
        };
        public readonly Option<int> Threads = Int("--threads", $"CPU threads for the engine, 1-{ComputeOptions.MaxThreads} (the native engine's results do not depend on it; the ilgpu engine uses them on --device cpu only)", ComputeOptions.DefaultThreads);

        public Option[] All => [Engine, Device, Threads];

        private ComputeOptions? _read;

        /// <summary>
        /// The options, validated against the program's engines the first time they are read (later reads give the same
        /// value); a problem is a usage error naming the option.
        /// </summary>
        public ComputeOptions Read(ParseResult parse)
        {
            if (_read is not null) return _read;
            try
            {
                return _read = App.Engines.Validate(new ComputeOptions(parse.GetValue(Engine)!, parse.GetValue(Device)!, parse.GetValue(Threads)));
            }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
        }

        /// <summary>True when the user gave --engine or --device (not only their defaults).</summary>
        public bool EngineOrDeviceGiven(ParseResult parse) =>
            parse.GetResult(Engine) is { Implicit: false } || parse.GetResult(Device) is { Implicit: false };
    }
}
