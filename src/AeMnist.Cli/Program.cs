// Entry point: builds the root command and maps every failure to an exit code and one line on stderr.
using AeMnist.Cli;

return App.Run(args, Console.Out, Console.Error);
